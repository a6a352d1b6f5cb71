import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, newTenant } from '../support/harness';
import { createOrder, paidAfterCancel, ref } from '../support/orders';
import { flakyWebhook, launchBrowser, OPERATOR, signIn, startConsoleHarness, type Harness } from './console-support';

const DOCS = `${__dirname}/../../docs`;

describe('the operator console answers "the buyer says they paid, why is the order not paid?"', () => {
  let h: Harness;
  let base: string;
  let ali: AlipayTenant;
  let hook: Awaited<ReturnType<typeof flakyWebhook>>;
  let browser: Browser;
  beforeAll(async () => {
    hook = await flakyWebhook();
    ({ h, base } = await startConsoleHarness({
      STATUS_SYNC_DELAYS_MS: '150,300,600',
      EVENT_WEBHOOK_URL: hook.url,
      EVENT_WEBHOOK_SECRET: 'console-webhook-secret-0123456789abcdef',
    }));
    ali = await alipayTenant(h, await newTenant(h, 'tcon'));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await ali?.close();
    await h?.close();
    await hook?.close();
  });

  it('When an operator signs in and finds a paid-after-close order, then its story shows the close, the late payment, its notifies, the refund and every event try', async () => {
    const { order } = await paidAfterCancel(h, ali, 3300n);
    const db = h.service.deps.db;
    const refund = await eventually(() => db.refund.findFirst({ where: { payNo: order.payNo, status: 'SUCCESS' } }));
    await eventually(() => db.notifyRecord.findFirst({ where: { payNo: order.payNo, signatureValid: true } }));
    await eventually(async () => (await db.outboxEvent.count({ where: { payNo: order.payNo, status: 'DEAD' } })) === 3);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // No cookie: the order page sends the operator to the login first, and back after it.
    const page = await signIn(context, base, OPERATOR.token, `/orders?tenant=${ali.tenantId}`);
    expect(new URL(page.url()).pathname).toBe('/console/orders');

    await page.selectOption('select[name=key]', 'out_order_no');
    await page.fill('input[name=q]', order.outOrderNo);
    await Promise.all([page.waitForURL(`**/console/orders/${order.payNo}?**`), page.click('button:text("Find")')]);
    const story = page.locator('#story');
    const text = await story.innerText();
    expect(text).toContain('Order created');
    expect(text).toContain('PAYING → CLOSED');
    expect(text).toContain('CLOSED → PAID_AFTER_CLOSE');
    expect(text).toContain('PAID_AFTER_CLOSE → REFUNDED');
    expect(text).toContain('system:paid-after-close');
    expect(text).toMatch(/Notify from alipay[\s\S]*verified/);
    expect(text).toContain(`Refund ${refund.refundNo}`);
    expect(text).toContain('Event PAID_AFTER_CLOSE');
    expect(text).toMatch(/Delivery try \d of ORDER_CLOSED[\s\S]*webhook[\s\S]*failed HTTP 500/);
    expect(await page.locator('.grid').first().innerText()).toContain('33.00'); // 3300 fen, in yuan
    // The story is oldest first, and every time shows the UTC instant on hover.
    const instants = await story.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')!));
    expect(instants.length).toBeGreaterThan(8);
    expect([...instants].sort()).toEqual(instants);
    expect(await story.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT.*Z UTC$/);
    // The raw body is one click away, its signature hidden.
    const raw = story.locator('details').first();
    await raw.locator('summary').click();
    const body = await raw.locator('pre').first().innerText();
    expect(body).toContain(`out_trade_no=`);
    expect(body).toMatch(/^sign=«hidden»$/m);
    expect(body).not.toMatch(/^sign=[A-Za-z0-9+/]{20}/m);
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: `${DOCS}/console-order-story.png`, fullPage: true });

    // The same story by the refund number and by the channel's trade number.
    for (const [key, value] of [
      ['refund_no', refund.refundNo],
      ['channel_trade_no', (await db.payAttempt.findFirstOrThrow({ where: { payNo: order.payNo } })).channelTradeNo!],
    ]) {
      await page.goto(`${base}/orders?tenant=${ali.tenantId}&key=${key}&q=${encodeURIComponent(value)}`);
      expect(new URL(page.url()).pathname).toBe(`/console/orders/${order.payNo}`);
    }
    await context.close();
  });

  it('When an event is dead-lettered, then the operator replays it from the dead letters and the replay is audited as theirs', async () => {
    const tenant = await newTenant(h, 'tdl');
    const order = await createOrder(h, tenant);
    await h.call('cancel', { order: ref(order), reason: '' });
    const db = h.service.deps.db;
    const dead = await eventually(() => db.outboxEvent.findFirst({ where: { payNo: order.payNo, status: 'DEAD' } }));

    const context = await browser.newContext();
    const page = await signIn(context, base, OPERATOR.token, `/dead-letters?tenant=${tenant}`);
    const row = page.locator('#dead-letters tr', { hasText: dead.id });
    expect(await row.innerText()).toContain('HTTP 500');
    hook.setFailing(false);
    await Promise.all([page.waitForURL('**/dead-letters?**done=replayed**'), row.locator('button:text("Replay")').click()]);
    expect(await page.locator('[role=status]').innerText()).toContain('Event replayed');
    await eventually(async () => (await db.outboxEvent.findUniqueOrThrow({ where: { id: dead.id } })).status === 'DELIVERED');
    const replay = await db.eventDelivery.findFirstOrThrow({ where: { eventId: dead.id, target: 'replay' } });
    expect(replay.actor).toBe('console-op');
    const audit = await db.operatorAction.findMany({ where: { tenantId: tenant } });
    expect(audit.map((a) => [a.actor, a.action, a.payNo, a.target])).toEqual([['console-op', 'REPLAY_EVENT', order.payNo, dead.id]]);
    // The order's story now tells the replay and the delivery after it.
    await page.goto(`${base}/orders/${order.payNo}?tenant=${tenant}`);
    const text = await page.locator('#story').innerText();
    expect(text).toMatch(/Replay of ORDER_CLOSED[\s\S]*by console-op/);
    expect(text).toContain('Operator action REPLAY_EVENT');
    expect(await page.locator('#dead-letters').count()).toBe(0);
    hook.setFailing(true);
    await context.close();
  });
});
