import { PayWay } from '../../src/gen/payment/v1/types';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { createOrder, ref } from '../support/orders';

/** Unverifiable notifies cost the service little: bounded rows, bounded bytes, and a service-wide limit. */

const GLOBAL_LIMIT = 40;
const PER_TENANT_LIMIT = 30;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    NOTIFY_REJECT_LIMIT_PER_MINUTE: String(PER_TENANT_LIMIT),
    NOTIFY_UNVERIFIED_LIMIT_PER_MINUTE: String(GLOBAL_LIMIT),
  });
});
afterAll(() => h.close());

const db = () => h.service.deps.db;
const post = (channel: string, tenantId: string, terminal: string, type: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${h.notifyBaseUrl}/notify/${channel}/${tenantId}/${terminal}`, {
    method: 'POST',
    headers: { 'content-type': type, ...headers },
    body,
  });

/** The limits count per clock minute: do not start a flood right at a minute's end. */
async function awayFromMinuteEnd(): Promise<void> {
  if (Date.now() % 60_000 > 50_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 100));
}

describe('notify flood', () => {
  it('When 200 unsigned notifies go to 200 tenants, then stored bytes stay bounded, 429s follow the global limit, and a genuine notify still goes through', async () => {
    await awayFromMinuteEnd();
    const run = uniq('fl');
    const filler = 'x'.repeat(15 * 1024);
    const statuses: number[] = [];
    // Tenants without an account at the channel: answered in its dialect, counted, never stored.
    for (let i = 0; i < 100; i++) {
      const res = await post(
        'alipay',
        `${run}-a${i}`,
        'qr',
        'application/x-www-form-urlencoded',
        `out_trade_no=A${i}&sign=x&pad=${filler}`,
      );
      statuses.push(res.status);
      if (i === 0) expect(await res.text()).toBe('fail');
    }
    // The mock channel's one account serves every tenant: stored, but only the head of each body.
    for (let i = 0; i < 100; i++) {
      const body = JSON.stringify({ notify_id: `N${i}`, pad: filler });
      statuses.push((await post('mock', `${run}-m${i}`, 'web', 'application/json', body)).status);
    }
    expect(statuses.slice(0, GLOBAL_LIMIT).every((s) => s === 500)).toBe(true);
    expect(statuses.slice(GLOBAL_LIMIT).every((s) => s === 429)).toBe(true);

    const rows = await db().notifyRecord.findMany({ where: { tenantId: { startsWith: run } } });
    expect(rows.every((r) => r.tenantId.includes('-m'))).toBe(true); // no row for a tenant without an account
    expect(rows.length).toBeLessThanOrEqual(GLOBAL_LIMIT);
    const stored = rows.reduce((sum, r) => sum + Buffer.byteLength(r.rawPayload), 0);
    expect(stored).toBeLessThanOrEqual(GLOBAL_LIMIT * 4096);
    for (const r of rows) {
      expect(r.payloadBytes).toBeGreaterThan(15 * 1024);
      expect(r.payloadSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const metrics = await (await fetch(`${h.notifyBaseUrl}/metrics`)).text();
    expect(metrics).toMatch(/paysvc_notify_total\{channel="alipay",result="NO_ACCOUNT"\} \d+/);
    expect(metrics).toMatch(/paysvc_notify_total\{channel="mock",result="RATE_LIMITED"\} \d+/);

    // A genuine notify is verified before any limit applies.
    const tenant = await newTenant(h, 't-genuine');
    const order = await createOrder(h, tenant, { amount: 2500n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    const res = await postMockNotify(h, tenant, mockPaymentNotify(h, pre.attemptNo));
    expect(res.status).toBe(200);
    expect((await db().payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status).toBe('SUCCESS');
  });

  it('When a notify body is larger than its channel sends, then it is refused with 413 unread', async () => {
    const big = 'x'.repeat(40 * 1024);
    expect((await post('mock', await newTenant(h), 'web', 'application/json', big)).status).toBe(413);
    expect((await post('wx', await newTenant(h), 'native', 'application/json', big)).status).toBe(413);
    expect((await post('alipay', await newTenant(h), 'qr', 'application/x-www-form-urlencoded', `a=${big}x${big}`)).status).toBe(413);
  });
});
