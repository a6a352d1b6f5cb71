import type { Browser } from 'playwright-core';
import { PayWay } from '../../src/gen/payment/v1/types';
import { newTenant } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { launchBrowser, OPERATOR, signIn, startConsoleHarness, type Harness } from './console-support';

describe('the operator console shows what needs a look and queries the channel on request', () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    // The harness's status sync waits an hour: an order PAYING for longer is stuck, and nothing asks the channel by itself.
    ({ h, base } = await startConsoleHarness());
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('When a payment reached the channel but its notify never came, then the stuck order is listed and "query the channel now" settles it as the operator', async () => {
    const tenant = await newTenant(h, 'tstuck');
    const order = await createOrder(h, tenant, { amount: 4321n });
    const fresh = await createOrder(h, tenant);
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    await h.call('prepay', { order: ref(fresh), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    const db = h.service.deps.db;
    // Placed two hours ago (past the first status query of the schedule); the buyer pays, the notify is lost.
    await db.payOrder.update({ where: { payNo: order.payNo }, data: { createdAt: new Date(Date.now() - 2 * 3600_000) } });
    h.gateway.inject({ kind: 'dropNotify' }, 100); // every try of its notify
    h.gateway.pay(pre.attemptNo);

    const context = await browser.newContext();
    const page = await signIn(context, base, OPERATOR.token, `/stuck?tenant=${tenant}`);
    const stuck = page.locator('#stuck-paying');
    expect(await stuck.innerText()).toContain(order.payNo);
    expect(await stuck.innerText()).toContain('43.21');
    expect(await stuck.innerText()).not.toContain(fresh.payNo); // PAYING, but not yet past the schedule
    await Promise.all([
      page.waitForURL('**/stuck?**done=SUCCESS**'),
      stuck.locator('tr', { hasText: order.payNo }).locator('button:text("Query the channel now")').click(),
    ]);
    expect(await page.locator('[role=status]').innerText()).toBe('The channel was asked; the order is SUCCESS.');
    expect(await page.locator('#stuck-paying').innerText()).not.toContain(order.payNo);
    const trail = await db.orderTransition.findMany({ where: { payNo: order.payNo, toStatus: 'SUCCESS' } });
    expect(trail.map((t) => [t.cause, t.actor])).toEqual([['SYNC', 'console-op']]);
    const audit = await db.operatorAction.findMany({ where: { tenantId: tenant } });
    expect(audit.map((a) => [a.actor, a.action, a.payNo, a.outcome])).toEqual([
      ['console-op', 'QUERY_CHANNEL', order.payNo, 'order is SUCCESS'],
    ]);
    // The story tells it: the status query, its answer, the transition by the operator.
    await page.goto(`${base}/orders/${order.payNo}?tenant=${tenant}`);
    const story = await page.locator('#story').innerText();
    expect(story).toMatch(/PAYING → SUCCESS\s+cause SYNC · actor console-op/);
    expect(story).toContain('Operator action QUERY_CHANNEL');
    await context.close();
  });

  it('When a reconciliation run found differences, then the run and its differences are listed with amounts in yuan', async () => {
    const tenant = await newTenant(h, 'trec');
    const db = h.service.deps.db;
    const day = new Date('2026-11-30T00:00:00.000Z');
    const run = await db.reconRun.create({
      data: {
        tenantId: tenant,
        channel: 'alipay',
        day,
        status: 'DONE',
        actor: 'system:reconcile',
        matched: 7,
        differences: 1,
        statementAmount: 123456789n,
        startedAt: new Date(),
        finishedAt: new Date(),
      },
    });
    await db.reconDifference.create({
      data: {
        runId: run.id,
        tenantId: tenant,
        channel: 'alipay',
        day,
        kind: 'AMOUNT_MISMATCH',
        outTradeNo: 'A<b>1</b>',
        statementAmount: 1001n,
        localAmount: 1000n,
        resolution: 'FLAGGED',
        detail: 'statement says 10.01',
      },
    });
    const context = await browser.newContext();
    const page = await signIn(context, base, OPERATOR.token, `/reconciliation?tenant=${tenant}`);
    expect(await page.locator('#runs').innerText()).toMatch(/2026-11-30\s+alipay\s+DONE\s+7\s+1\s+0\s+1,234,567\.89/);
    await Promise.all([page.waitForURL(`**run=${run.id}**`), page.click(`#runs a:text("${run.id}")`)]);
    expect(await page.locator('#differences').innerText()).toMatch(/AMOUNT_MISMATCH\s+–\s+A<b>1<\/b>\s+10\.01\s+10\.00\s+FLAGGED/);
    await context.close();
  });
});
