import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo } from '../../scripts/demo';
import { registerSandboxTenant } from '../../scripts/sandbox-tenant';
import { startSandboxes, type Sandboxes } from '../../scripts/sandboxes';
import { OrderStatus, RefundStatus } from '../../src/client';
import { SecretBox } from '../../src/infra/secret-box';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';

const SECRET = 'demo-test-mock-sandbox-secret';
const EVENT_QUEUE_PREFIX = `{${uniq('demoev')}}`;

let keysDir: string;
let sandboxes: Sandboxes;
let h: Harness;
let tenantId: string;
beforeAll(async () => {
  // What `npm run dev` starts, on ephemeral ports: the three sandboxes (fresh keys), the service, a registered tenant.
  keysDir = mkdtempSync(path.join(tmpdir(), 'paysvc-demo-'));
  sandboxes = await startSandboxes({ host: '127.0.0.1', ports: { mock: 0, alipay: 0, wechat: 0 }, mockSecret: SECRET, dir: keysDir });
  h = await startHarness(
    // dev's status-sync schedule, so the notifies (not an early sync) settle the payments, as under `npm run dev`
    { MOCK_CHANNEL_SECRET: SECRET, EVENT_QUEUE_PREFIX, STATUS_SYNC_DELAYS_MS: '60000' },
    { gateway: sandboxes.mock, gatewayUrl: sandboxes.urls.mock },
  );
  tenantId = await newTenant(h, 'demo');
  await registerSandboxTenant(h.service.deps.db, SecretBox.development(), tenantId, sandboxes, h.notifyBaseUrl);
}, 60_000);
afterAll(async () => {
  await h?.close();
  await sandboxes?.close();
  rmSync(keysDir, { recursive: true, force: true });
});

const options = () => ({
  address: h.address,
  token: h.token,
  redisUrl: process.env.REDIS_URL!,
  eventQueuePrefix: EVENT_QUEUE_PREFIX,
  sandboxUrls: sandboxes.urls,
  tenantId,
  timeoutMs: 10_000,
});

describe('npm run demo', () => {
  it("When the demo runs against a dev-like stack, then every channel's order is paid, partly refunded, and its events reach the order side", async () => {
    const lines: string[] = [];
    const result = await runDemo(options(), (line) => lines.push(line));
    expect(result.orders.map((o) => [o.label, o.status, o.eventsDelivered])).toEqual([
      ['mock', OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, 2],
      ['alipay', OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, 2],
      ['wechat', OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, 2],
    ]);
    expect(result.orders.map((o) => o.refundedAmount)).toEqual([500n, 2222n, 1650n]);
    for (const label of ['mock', 'alipay', 'wechat']) {
      const own = lines.filter((l) => l.startsWith(`[${label}`)).join('\n');
      expect(own).toMatch(/watch +SUCCESS v\d+/);
      expect(own).toMatch(/payment notify at the sidecar: signature valid, PROCESSED/);
      expect(own).toMatch(/PAYMENT_SUCCEEDED .* order side: applied/);
      expect(own).toMatch(/REFUND_SUCCEEDED .* order side: applied/);
    }
    // The buyer who paid twice: the duplicate refunded at its channel on its own, the order paid once.
    expect([result.duplicate.refundStatus, result.duplicate.refundAmount]).toEqual([RefundStatus.REFUND_STATUS_SUCCESS, 1288n]);
    const twice = lines.filter((l) => l.startsWith('[twice')).join('\n');
    expect(twice).toMatch(/DUPLICATE_PAYMENT \(trade .+\); order still SUCCESS/);
    expect(twice).toMatch(/DUPLICATE_PAYMENT_REFUNDED ¥12\.88 \(DUP-A/);
    expect(lines.at(-1)).toMatch(/^demo complete: 3 orders paid ¥174\.87, refunded ¥43\.72, .*a payment made twice refunded ¥12\.88/);
  });

  it('When WeChat Pay answers a refund PROCESSING, then the demo waits until its REFUND.SUCCESS notify settles it', async () => {
    sandboxes.wechat.holdRefunds(true);
    const lines: string[] = [];
    try {
      await runDemo({ ...options(), runId: uniq('held') }, (line) => {
        lines.push(line);
        const refundNo = /^\[wechat\] Refund .*\((R\w+)\) → PENDING/.exec(line)?.[1];
        if (refundNo) setTimeout(() => sandboxes.wechat.settleRefund(refundNo, 'SUCCESS'), 300);
      });
    } finally {
      sandboxes.wechat.holdRefunds(false);
    }
    expect(lines.join('\n')).toMatch(/\[wechat\] settled +refund SUCCESS, settled by its refund notify.*wechat refund notify: PROCESSED/);
  });

  it('When the service is not there, then the demo fails fast, naming what to check', async () => {
    await expect(runDemo({ ...options(), address: '127.0.0.1:1', timeoutMs: 3000 }, () => undefined)).rejects.toMatchObject({
      name: 'DemoError',
      hint: expect.stringContaining('npm run dev'),
    });
  });
});
