import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createMockGateway, type MockGateway } from '../../sandboxes/mock';
import type { PayWayHandler } from '../../src/channels/guarded-channel';
import { type MockAccount, mockHandlers } from '../../src/channels/mock';
import { buildSignedHeaders, verifySignature } from '../../src/channels/mock/signature';
import { REFUND_STATUS_OUTCOMES, TRADE_STATUS_OUTCOMES, tradeOutcome } from '../../src/channels/mock/transformers';
import type { NotifyVerification, RefundSnapshot, TradeSnapshot, VerifiedNotify } from '../../src/channels/types';

const SECRET = 'unit-test-secret';

interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  verification: NotifyVerification;
}

let gateway: MockGateway;
let gatewayUrl: string;
let receiver: Server;
let handler: PayWayHandler;
let qr: PayWayHandler;
let account: MockAccount;
let call: { account: MockAccount };
const receipts: Receipt[] = [];
/** The receiver answers FAIL to this many more valid notifies. */
let refuseValid = 0;

beforeAll(async () => {
  gateway = createMockGateway({ secret: SECRET, notifyRetryDelaysMs: [0, 20, 40, 80] });
  gatewayUrl = await gateway.listen(0);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A notify this receiver cannot handle is answered 500 (the gateway delivers it again), not left hanging.
    const broken = (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    req.on('end', () => {
      void (async () => {
        const [, , , tenantId, terminalType] = (req.url ?? '').split('/');
        const headers = req.headers as Record<string, string | undefined>;
        const rawBody = Buffer.concat(chunks);
        const verification = await handler.verifyNotify({ tenantId, terminalType, headers, rawBody }, account);
        receipts.push({ path: req.url ?? '', headers: req.headers, verification });
        const accepted = verification.valid && refuseValid-- <= 0;
        const ack = handler.ackNotify(accepted, verification.valid ? 'try again' : verification.reason);
        res.writeHead(ack.status, { 'Content-Type': ack.contentType }).end(ack.body);
      })().catch(broken);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const notifyBaseUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // Generous: on a loaded machine a plain call must not time out. The timeout test uses a handler of its own.
  account = { channel: 'mock', merchantId: 'M100001', gatewayUrl, secret: SECRET, notifyBaseUrl };
  call = { account };
  [handler, qr] = mockHandlers({ timeoutMs: 10_000 });
});

afterEach(() => {
  gateway.clearFaults();
  gateway.holdRefunds(false);
  refuseValid = 0;
});

afterAll(async () => {
  await gateway.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

let seq = 0;
function tradeSnapshot(amount = 1234n): TradeSnapshot {
  seq += 1;
  const expireAt = new Date(Date.now() + 15 * 60_000);
  const blanks = { description: '', attach: '', clientIp: '', payerId: '', returnUrl: '' };
  const ids = { tenantId: 't1', payNo: `P${seq}`, attemptNo: `A${Date.now()}-${seq}` };
  return { ...ids, amount, currency: 'CNY', subject: 'Green tea', expireAt, ...blanks };
}

function refundSnapshot(trade: TradeSnapshot, amount: bigint, refundNo = `R${++seq}`): RefundSnapshot {
  const { tenantId, payNo, attemptNo, currency } = trade;
  return { tenantId, payNo, attemptNo, refundNo, tradeAmount: trade.amount, amount, currency, reason: 'test' };
}

async function prepaid(amount?: bigint): Promise<{ trade: TradeSnapshot; payUrl: string }> {
  const trade = tradeSnapshot(amount);
  const result = await handler.prepay(trade, call);
  if (result.outcome !== 'success' || result.payload.kind !== 'mockPayUrl') throw new Error(JSON.stringify(result));
  return { trade, payUrl: result.payload.value };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type ValidReceipt = Receipt & { notify: VerifiedNotify };

/** Valid notifies received for a trade, waiting until there are at least `count` of them. */
async function notifiesFor(attemptNo: string, count = 1): Promise<ValidReceipt[]> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) {
    const found = receipts.flatMap((r) => {
      const v = r.verification;
      return v.valid && v.notify.attemptNo === attemptNo ? [{ ...r, notify: v.notify }] : [];
    });
    if (found.length >= count) return found;
  }
  throw new Error(`fewer than ${count} notifies for ${attemptNo}`);
}

/** Waits until the gateway has no delivery left to make, so what was not sent will not be sent. */
async function deliveriesSettled(): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) if (gateway.notifiesPending() === 0) return;
  throw new Error('the gateway still has notifies to deliver');
}

describe('mock channel signature and status table', () => {
  const body = '{"out_trade_no":"A1"}';

  it('accepts its own headers case-insensitively, rejects a stale timestamp, a bad signature, no headers', () => {
    const headers = buildSignedHeaders(SECRET, body);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifySignature(SECRET, headers, body)).toEqual({ valid: true });
    expect(verifySignature(SECRET, lower, Buffer.from(body))).toEqual({ valid: true });
    const stale = buildSignedHeaders(SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(verifySignature(SECRET, stale, body)).toEqual({ valid: false, reason: 'stale timestamp' });
    const signed = buildSignedHeaders(SECRET, body);
    expect(verifySignature(SECRET, signed, `${body} `)).toEqual({ valid: false, reason: 'bad signature' });
    expect(verifySignature('other-secret', signed, body)).toEqual({ valid: false, reason: 'bad signature' });
    expect(verifySignature(SECRET, {}, body)).toEqual({ valid: false, reason: 'missing signature headers' });
  });

  it('maps channel statuses to outcomes, unknown statuses to unknown', () => {
    expect(TRADE_STATUS_OUTCOMES).toEqual({ NOTPAY: 'pending', SUCCESS: 'success', CLOSED: 'fail', REFUND: 'success' });
    expect(REFUND_STATUS_OUTCOMES).toEqual({ PROCESSING: 'pending', SUCCESS: 'success', FAIL: 'fail' });
    expect(tradeOutcome('REVOKED')).toBe('unknown');
    expect(tradeOutcome('toString')).toBe('unknown');
  });
});

describe('mock gateway and the mock channel over HTTP', () => {
  it('prepays, pays at the cashier and delivers a signed notify that is acked once', async () => {
    const { trade, payUrl } = await prepaid(1234n);
    const page = await fetch(payUrl).then((r) => r.text());
    expect(page).toContain('12.34 CNY');
    const paid = await fetch(payUrl, { method: 'POST' });
    expect(await paid.json()).toMatchObject({ out_trade_no: trade.attemptNo, status: 'SUCCESS', amount: '1234' });

    const [receipt] = await notifiesFor(trade.attemptNo);
    expect(receipt.path).toBe('/notify/mock/t1/web');
    expect(receipt.notify).toMatchObject({ kind: 'payment', status: { outcome: 'success', paidAmount: 1234n } });
    await deliveriesSettled();
    expect(await notifiesFor(trade.attemptNo)).toHaveLength(1);
  });

  it('queries a trade through its states and closes only unpaid trades', async () => {
    const trade = tradeSnapshot();
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'pending', channelStatus: 'TRADE_NOT_EXIST' });
    await handler.prepay(trade, call);
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'pending', channelStatus: 'NOTPAY' });
    expect(await handler.close(trade, call)).toEqual({ outcome: 'closed', said: { endpoint: 'POST /v1/trades/{out_trade_no}/close' } });
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'fail', channelStatus: 'CLOSED' });
    expect(gateway.trade(trade.attemptNo)?.status).toBe('CLOSED');
    expect(gateway.trade('never-seen')).toBeUndefined();
    expect(() => gateway.pay(trade.attemptNo)).toThrow('trade is closed');
    expect(await handler.close(tradeSnapshot(), call)).toEqual({
      outcome: 'closed',
      said: { endpoint: 'POST /v1/trades/{out_trade_no}/close', code: 'TRADE_NOT_EXIST' },
    });

    const { trade: paidTrade } = await prepaid(500n);
    gateway.pay(paidTrade.attemptNo);
    const status = await handler.query(paidTrade, call);
    expect(status).toMatchObject({ outcome: 'success', channelStatus: 'SUCCESS', paidAmount: 500n });
    expect(status.paidAt).toBeInstanceOf(Date);
    expect(await handler.close(paidTrade, call)).toEqual({
      outcome: 'paid',
      status,
      said: { endpoint: 'POST /v1/trades/{out_trade_no}/close', code: 'TRADE_PAID' },
    });
  });

  it('prepay is idempotent per out_trade_no and amount, and fails for another amount', async () => {
    const trade = tradeSnapshot(100n);
    const first = await handler.prepay(trade, call);
    expect(await handler.prepay(trade, call)).toEqual(first);
    const conflict = { outcome: 'fail', reason: expect.stringContaining('OUT_TRADE_NO_USED') };
    expect(await handler.prepay({ ...trade, amount: 101n }, call)).toMatchObject(conflict);
    expect([qr.payWay, qr.supportsQr, handler.payWay, handler.supportsQr]).toEqual(['MOCK_QR', true, 'MOCK', false]);
    const qrPayload = { outcome: 'success', payload: { kind: 'qrCodeUrl' } };
    expect(await qr.prepay(tradeSnapshot(), call)).toMatchObject(qrPayload);
  });

  it('refunds partially, refuses over the paid amount, and reports held refunds as pending', async () => {
    const { trade } = await prepaid(1000n);
    gateway.pay(trade.attemptNo);
    const partial = refundSnapshot(trade, 400n);
    expect(await handler.refund(partial, call)).toMatchObject({ outcome: 'success', channelStatus: 'SUCCESS' });
    expect(await handler.refund(partial, call)).toMatchObject({ outcome: 'success' });
    expect(await handler.queryRefund(partial, call)).toMatchObject({ outcome: 'success' });
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'success', channelStatus: 'REFUND' });
    const refundNotify = (await notifiesFor(trade.attemptNo, 2)).find((r) => r.notify.kind === 'refund')?.notify;
    expect(refundNotify).toMatchObject({ refundNo: partial.refundNo, amount: 400n, status: { outcome: 'success' } });

    const exceeds = { outcome: 'fail', channelStatus: 'REFUND_EXCEEDS' };
    expect(await handler.refund(refundSnapshot(trade, 601n), call)).toMatchObject(exceeds);
    gateway.holdRefunds(true);
    const held = refundSnapshot(trade, 600n);
    expect(await handler.refund(held, call)).toMatchObject({ outcome: 'pending', channelStatus: 'PROCESSING' });
    gateway.settleRefund(held.refundNo, 'SUCCESS');
    expect(await handler.queryRefund(held, call)).toMatchObject({ outcome: 'success' });
    expect(gateway.refundedTotal(trade.attemptNo)).toBe(1000n);
    expect(await handler.queryRefund(refundSnapshot(trade, 1n), call)).toMatchObject({ outcome: 'pending' });
  });

  it('treats a 5xx, a hang, an abort, a refused connection and a tampered response as unknown', async () => {
    const unknown = (reason: string) => ({ outcome: 'unknown', reason: expect.stringContaining(reason) });
    const { trade } = await prepaid();
    gateway.inject({ kind: 'serverError' });
    expect(await handler.query(trade, call)).toMatchObject(unknown('HTTP 500'));
    gateway.inject({ kind: 'hang', ms: 60_000 }); // the gateway's close clears it
    const [impatient] = mockHandlers({ timeoutMs: 300 });
    expect(await impatient.prepay(tradeSnapshot(), call)).toMatchObject(unknown('timed out after 300 ms'));
    gateway.inject({ kind: 'badResponseSignature' }, 2);
    expect(await handler.close(trade, call)).toMatchObject(unknown('bad signature'));
    expect(await handler.refund(refundSnapshot(trade, 1n), call)).toMatchObject(unknown('bad signature'));
    expect(await handler.query(trade, { ...call, signal: AbortSignal.abort() })).toMatchObject(unknown('aborted by caller'));
    const unreachable = { account: { ...account, gatewayUrl: 'http://127.0.0.1:1' } };
    expect(await handler.query(trade, unreachable)).toMatchObject(unknown('network error'));
    // The tampered close did take effect: only its answer could not be trusted.
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'fail', channelStatus: 'CLOSED' });
  });

  it('ends a call its caller aborts in flight, and leaves no listener on a caller signal that outlives its calls', async () => {
    const { trade } = await prepaid();
    const caller = new AbortController();
    for (let i = 0; i < 12; i++) {
      expect(await handler.query(trade, { ...call, signal: caller.signal })).toMatchObject({ outcome: 'pending' });
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    gateway.inject({ kind: 'hang', ms: 60_000 });
    const hanging = handler.query(trade, { ...call, signal: caller.signal });
    caller.abort();
    expect(await hanging).toMatchObject({ outcome: 'unknown', reason: expect.stringContaining('aborted by caller') });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('When the gateway URL has a path (with or without a trailing slash), then calls go under it; a URL of another scheme is a network error', async () => {
    const { trade } = await prepaid();
    const seen: string[] = [];
    // A front that serves the gateway under /gw/: strips the prefix and forwards, as a reverse proxy would.
    const front = createServer((req, res) => {
      seen.push(req.url ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void fetch(`${gatewayUrl}${(req.url ?? '').replace(/^\/gw/, '')}`, {
          method: req.method,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(([k]) => k.startsWith('x-mock') || k === 'content-type'),
          ) as Record<string, string>,
          body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
        }).then(async (r) => {
          res.writeHead(r.status, Object.fromEntries([...r.headers].filter(([k]) => k.startsWith('x-mock') || k === 'content-type')));
          res.end(Buffer.from(await r.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(front.address() as AddressInfo).port}/gw`;
      for (const url of [base, `${base}/`, `${base}//`]) {
        expect(await handler.query(trade, { account: { ...account, gatewayUrl: url } })).toMatchObject({ outcome: 'pending' });
      }
      expect(seen).toEqual(Array(3).fill(`/gw/v1/trades/${encodeURIComponent(trade.attemptNo)}`));
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
    const ftp = { account: { ...account, gatewayUrl: 'ftp://127.0.0.1/' } };
    expect(await handler.query(trade, ftp)).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringContaining('unsupported URL scheme ftp:'),
    });
  });

  it('When a fault names the call it is for, then other calls pass and that call takes it', async () => {
    const { trade } = await prepaid();
    gateway.inject({ kind: 'serverError', on: 'POST /refunds' }, 1);
    gateway.inject({ kind: 'hang', ms: 60_000, on: 'POST /trades/' }, 1); // any call under a trade, e.g. its close
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'pending' });
    expect(await handler.refund(refundSnapshot(trade, 1n), call)).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringContaining('HTTP 500'),
    });
    const [impatient] = mockHandlers({ timeoutMs: 300 });
    expect(await impatient.close(trade, call)).toMatchObject({ outcome: 'unknown', reason: expect.stringContaining('timed out') });
    expect(await handler.query(trade, call)).toMatchObject({ outcome: 'pending' }); // both faults were spent
  });

  it('rejects unsigned API requests with a signed SIGN_ERROR', async () => {
    const res = await fetch(`${gatewayUrl}/v1/trades/anything`);
    const body = await res.text();
    expect(res.status).toBe(401);
    expect(JSON.parse(body)).toEqual({ code: 'SIGN_ERROR', message: 'missing signature headers' });
    expect(verifySignature(SECRET, res.headers, body)).toEqual({ valid: true });
  });

  it('retries an unacked notify with the same notify_id and fresh signature headers', async () => {
    const { trade } = await prepaid();
    refuseValid = 1;
    gateway.pay(trade.attemptNo);
    const [first, second] = await notifiesFor(trade.attemptNo, 2);
    expect(second.notify.notifyId).toBe(first.notify.notifyId);
    expect(second.headers['x-mock-nonce']).not.toBe(first.headers['x-mock-nonce']);
  });

  it('sends hostile notifies on demand: dropped, bad signature, duplicates, amount mismatch', async () => {
    const { trade: dropped } = await prepaid();
    gateway.inject({ kind: 'dropNotify' }, 3); // lost three times, delivered by the last attempt of the schedule
    gateway.pay(dropped.attemptNo);
    expect(await notifiesFor(dropped.attemptNo)).toHaveLength(1);

    const before = receipts.length;
    const { trade: badSig } = await prepaid();
    gateway.inject({ kind: 'badNotifySignature' });
    gateway.pay(badSig.attemptNo);
    await notifiesFor(badSig.attemptNo);
    const rejected = receipts.slice(before).filter((r) => !r.verification.valid);
    expect(rejected.map((r) => r.verification)).toEqual([{ valid: false, reason: 'bad signature', attemptNo: badSig.attemptNo }]);

    const { trade: dup } = await prepaid();
    gateway.inject({ kind: 'duplicateNotify' });
    gateway.pay(dup.attemptNo);
    const [a, b] = await notifiesFor(dup.attemptNo, 2);
    expect(a.notify.notifyId).toBe(b.notify.notifyId);

    const { trade: shifted } = await prepaid(1234n);
    gateway.inject({ kind: 'notifyAmountMismatch', delta: 1n });
    gateway.pay(shifted.attemptNo);
    const [receipt] = await notifiesFor(shifted.attemptNo);
    expect(receipt.notify).toMatchObject({ kind: 'payment', status: { paidAmount: 1235n } });
  });
});
