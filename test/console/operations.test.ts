import type { Browser } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { PayWay } from '../../src/gen/payment/v1/types';
import { sqlPool } from '../../src/infra/db';
import { BY_CHANNEL_TRADE_NO, DEAD_EVENTS } from '../../src/repo/console-queries';
import { eventually, newTenant } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';
import { launchBrowser, OPERATOR, signIn, startConsoleHarness, type Harness } from './console-support';

const DOCS = `${__dirname}/../../docs`;

describe('the operator console shows the day, what needs a look, and queries the channel on request', () => {
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
    await eventually(async () => h.gateway.notifiesPending() === 0); // every try of the lost notify is over
    h.gateway.clearFaults();
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

  it('When the operator opens today and the last 30 days, then paid amounts per day are charted in their zone, fen exact', async () => {
    const tenant = await newTenant(h, 'tday');
    await paidOrder(h, tenant, 12345n);
    await paidOrder(h, tenant, 1n);
    // Earlier days, for the chart: orders placed back in time (the rollup's triggers follow created_at and status).
    const now = Date.now();
    for (let d = 1; d < 30; d += 1) {
      const o = await createOrder(h, tenant, { amount: BigInt(5000 + ((d * 7919) % 20000)) });
      const paid = d % 5 !== 0;
      await h.service.deps.db.payOrder.update({
        where: { payNo: o.payNo },
        data: {
          createdAt: new Date(now - d * 86400_000),
          ...(paid ? { status: 'SUCCESS', payWay: 'MOCK', paidAt: new Date(now - d * 86400_000) } : {}),
        },
      });
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, base, OPERATOR.token, `/stats?tenant=${tenant}&tz=Asia%2FShanghai`);
    expect(await page.locator('#today-paid').innerText()).toBe('123.46');
    expect(await page.locator('#daily-paid rect').count()).toBe(30);
    const todayBar = await page.locator('#daily-paid g title').last().textContent();
    expect(todayBar).toMatch(/paid 123\.46 yuan in 2 of 2 orders \(100\.0%\)/);
    expect(await page.locator('#by-channel').textContent()).toContain('mock');
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: `${DOCS}/console-daily.png`, fullPage: false });
    // Another zone cuts other days: the same page in UTC says so.
    await page.goto(`${base}/stats?tenant=${tenant}&tz=UTC`);
    expect(await page.locator('main').innerText()).toContain('Days cut at midnight in UTC');
    await context.close();
  });

  it("When the console looks up by the channel's trade number or lists dead letters, then MariaDB reads one index range", async () => {
    const pool = sqlPool(h.service.deps.db);
    const plan = (sql: string, args: unknown[]) =>
      pool.query<{ table: string; type: string; key: string | null; Extra?: string }[]>(`EXPLAIN ${sql}`, args);
    const [byTradeNo] = await plan(BY_CHANNEL_TRADE_NO, ['t', 'x']);
    expect([byTradeNo.type, byTradeNo.key]).toEqual(['ref', 'idx_pay_attempt_tenant_channel_trade_no']);
    // The page's own SQL: one tenant's DEAD range, already in next_attempt_at order (no filesort, no other tenant).
    const [dead] = await plan(DEAD_EVENTS, ['t', 100]);
    expect([dead.type, dead.key]).toEqual(['ref', 'idx_outbox_event_tenant_status_next']);
    expect(dead.Extra ?? '').not.toContain('filesort');
  });
});
