import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { PayWay } from '../../src/gen/payment/v1/types';
import { newTenant, startHarness, type Harness } from '../support/harness';
import { captureLogs } from '../support/capture';
import { createOrder, ref } from '../support/orders';

const USER = 'ops';
const PASSWORD = 'correct-horse-battery';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let h: Harness;
let bare: Harness;
beforeAll(async () => {
  h = await startHarness({ BULL_BOARD_USER: USER, BULL_BOARD_PASSWORD: PASSWORD });
  bare = await startHarness({}, h);
});
afterAll(async () => {
  await bare?.close();
  await h?.close();
});

const board = (harness: Harness, path: string, authorization?: string) =>
  fetch(`${harness.notifyBaseUrl}/admin/queues${path}`, { headers: authorization ? { authorization } : {} });

describe('Queue board', () => {
  it('When no credentials or wrong ones are sent, then the board answers 401 with a basic auth challenge', async () => {
    for (const auth of [undefined, basic(USER, 'wrong-password-123'), basic('someone', PASSWORD), 'Bearer abc']) {
      const res = await board(h, '/api/queues', auth);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="paysvc queues"/);
    }
  });

  it('When the right credentials are sent, then the board and its API list the six internal queues', async () => {
    const page = await board(h, '/', basic(USER, PASSWORD));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);

    const res = await board(h, '/api/queues', basic(USER, PASSWORD));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([
      'automatic-refunds',
      'event-delivery',
      'maintenance',
      'order-timeout',
      'reconciliation',
      'status-sync',
    ]);
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('When BULL_BOARD_USER and BULL_BOARD_PASSWORD are not set, then there is no board', async () => {
    expect((await board(bare, '/', basic(USER, PASSWORD))).status).toBe(404);
    expect((await board(bare, '/api/queues', basic(USER, PASSWORD))).status).toBe(404);
  });
});

describe('Metrics', () => {
  it('When an order is prepaid on the mock channel, then /metrics has the channel call by channel, pay way, operation and outcome', async () => {
    const order = await createOrder(h, await newTenant(h, 't-obs'));
    await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '127.0.0.1', payerId: '' });

    const res = await fetch(`${h.notifyBaseUrl}/metrics`);
    expect(res.headers.get('etag')).toBeNull(); // the sidecar hashes no answer for an ETag (nothing it serves is cached)
    const text = await res.text();
    expect(text).toMatch(
      /^paysvc_channel_call_duration_seconds_count\{channel="mock",pay_way="MOCK",operation="prepay",outcome="success"\} [1-9]/m,
    );
    for (const name of [
      'paysvc_job_duration_seconds',
      'paysvc_outbox_lag_seconds',
      'paysvc_event_delivery_total',
      'paysvc_rpc_duration_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});

describe('Logs', () => {
  it("When an RPC fails, then its log line names the rpc, the caller's request id, the caller, the tenant and the order, and no secret", async () => {
    const { lines, restore } = captureLogs(h);
    try {
      const tenantId = await newTenant(h, 't-obs');
      const md = new Metadata();
      md.set('x-request-id', 'req-observability-1');
      md.set('authorization', `Bearer ${h.token}`);
      const err = await new Promise<ServiceError>((resolve) =>
        h.client.prepay(
          { order: { tenantId, key: { $case: 'payNo', value: 'PMISSING1' } }, payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' },
          md,
          (e) => resolve(e!),
        ),
      );
      expect(err.code).toBe(status.NOT_FOUND);
      await new Promise((r) => setImmediate(r));

      const line = lines.find((l) => l.rpc === 'Prepay');
      expect(line).toMatchObject({
        requestId: 'req-observability-1',
        actor: 'test-harness',
        tenantId,
        payNo: 'PMISSING1',
        code: 'NOT_FOUND',
        reason: 'ORDER_NOT_FOUND',
        msg: 'rpc done',
      });
      expect(typeof line!.ms).toBe('number');
      expect(JSON.stringify(lines)).not.toContain(h.token);
    } finally {
      restore();
    }
  });

  it('When the caller sends no usable request id, then one is generated', async () => {
    const { lines, restore } = captureLogs(h);
    try {
      const tenantId = await newTenant(h, 't-obs');
      const md = new Metadata();
      md.set('x-request-id', 'x'.repeat(200));
      await new Promise((resolve) => h.client.listPayWays({ tenantId }, md, resolve));
      await new Promise((r) => setImmediate(r));
      const line = lines.find((l) => l.rpc === 'ListPayWays');
      expect(line?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      restore();
    }
  });
});
