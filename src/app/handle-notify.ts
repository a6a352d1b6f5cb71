import type { NotifyResult } from '../generated/prisma/enums';
import type { ChannelName, NotifyAck, PayOrderHandler, RawNotify, VerifiedNotify } from '../channels/types';
import { findAttempt, type PayAttempt } from '../repo/pay-orders';
import { findReceiptPayNo, insertReceipt, recordNotify, type NotifyLogEntry } from '../repo/notifies';
import { isUniqueViolation, type Tx } from '../repo/tx';
import { applyRefundStatus } from './apply-refund-status';
import { applyTradeStatus, type ApplyResult } from './apply-trade-status';
import type { Deps } from './deps';
import { scheduleSync } from './schedule-sync';

const SEEN_TTL_SECONDS = 48 * 3600;
const KEPT_HEADERS = /^(content-type|user-agent|x-mock-.*|wechatpay-.*)$/i;

/**
 * A channel's notify, from raw bytes to its answer: verify the signature, cross-check against the local
 * order, deduplicate, apply the change exactly once (with its receipt and record in the same transaction),
 * and answer in the channel's dialect. An unverified notify never changes anything.
 */
export async function handleNotify(deps: Deps, handler: PayOrderHandler, raw: RawNotify): Promise<NotifyAck> {
  const { result, ack } = await processNotify(deps, handler, raw);
  deps.metrics.notifies.inc({ channel: handler.channel, result });
  return ack;
}

type Handled = { result: NotifyResult | 'RATE_LIMITED'; ack: NotifyAck };

async function processNotify(deps: Deps, handler: PayOrderHandler, raw: RawNotify): Promise<Handled> {
  const channel = handler.channel;
  const log = (result: NotifyResult, detail: string, n?: Partial<VerifiedNotify>, payNo: string | null = null) =>
    entry(channel, raw, { result, detail, notifyId: n?.notifyId ?? '', kind: n?.kind ?? 'unknown', payNo, signatureValid: !!n?.kind });

  const account = channel === 'mock' ? undefined : await deps.accounts.get(raw.tenantId, channel);
  const verification = await handler.verifyNotify(raw, account);
  if (!verification.valid) return rejectUnverified(deps, handler, raw, verification, log);
  const n = verification.notify;
  const appliedTo = await seenBefore(deps, channel, n.notifyId);
  if (appliedTo) {
    await recordNotify(deps.db, log('DUPLICATE', 'already applied', n, appliedTo));
    return { result: 'DUPLICATE', ack: handler.ackNotify(true) };
  }
  const attempt = await findAttempt(deps.db, n.attemptNo);
  if (!attempt || attempt.tenantId !== raw.tenantId || attempt.channel !== channel) {
    await recordNotify(deps.db, log('REJECTED', `no ${channel} trade ${n.attemptNo} for tenant ${raw.tenantId}`, n));
    return { result: 'REJECTED', ack: handler.ackNotify(false, 'unknown trade') };
  }
  const record: Recorder = async (tx, result, detail) => {
    await insertReceipt(tx, channel, n.notifyId, attempt.payNo); // a second one is a unique violation
    await recordNotify(tx, log(result, detail, n, attempt.payNo));
  };
  try {
    const applied = await apply(deps, attempt, n, record);
    if (applied.ok) return { result: applied.result, ack: handler.ackNotify(true) };
    await recordNotify(deps.db, log('REJECTED', applied.detail, n, attempt.payNo));
    deps.log.error({ channel, payNo: attempt.payNo, notifyId: n.notifyId, reason: applied.detail }, 'notify contradicts the order');
    return { result: 'REJECTED', ack: handler.ackNotify(false, applied.detail) };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    await recordNotify(deps.db, log('DUPLICATE', 'applied concurrently', n, attempt.payNo));
    return { result: 'DUPLICATE', ack: handler.ackNotify(true) };
  }
}

type Recorder = (tx: Tx, result: NotifyResult, detail: string) => Promise<void>;

/**
 * A notify that cannot be verified is never trusted. Up to a per-tenant rate it is recorded and, if it names one
 * of the tenant's trades, that trade is queried at the channel, so a real payment behind a bad notify is still
 * found; past the rate it is refused unread (429) and only counted.
 */
async function rejectUnverified(
  deps: Deps,
  handler: PayOrderHandler,
  raw: RawNotify,
  v: { reason: string; attemptNo?: string },
  log: (result: NotifyResult, detail: string, n?: undefined, payNo?: string | null) => NotifyLogEntry,
): Promise<Handled> {
  const ack = handler.ackNotify(false, 'signature verification failed');
  const minute = Math.floor(Date.now() / 60_000);
  const key = `paysvc:notify-rejects:${handler.channel}:${raw.tenantId}:${minute}`;
  const [[, count]] = (await deps.redis.multi().incr(key).expire(key, 120).exec()) as [[unknown, number]];
  if (count > deps.notifyRejectLimitPerMinute) return { result: 'RATE_LIMITED', ack: { ...ack, status: 429 } };

  const hinted = v.attemptNo ? await findAttempt(deps.db, v.attemptNo) : null;
  const attempt = hinted && hinted.tenantId === raw.tenantId && hinted.channel === handler.channel ? hinted : null;
  await recordNotify(deps.db, log('REJECTED', v.reason, undefined, attempt?.payNo ?? null));
  deps.log.warn({ channel: handler.channel, tenantId: raw.tenantId, reason: v.reason, attemptNo: attempt?.attemptNo }, 'notify failed verification');
  if (attempt) await scheduleSync(deps, attempt.attemptNo);
  return { result: 'REJECTED', ack };
}

async function apply(
  deps: Deps,
  attempt: PayAttempt,
  n: VerifiedNotify,
  record: Recorder,
): Promise<{ ok: true; result: NotifyResult } | { ok: false; detail: string }> {
  if (n.kind === 'payment') {
    const r = await applyTradeStatus(deps, attempt, n.status, {
      cause: 'NOTIFY',
      inTx: (tx, r) =>
        r.kind === 'mismatch' ? Promise.resolve() : record(tx, r.kind === 'applied' ? 'PROCESSED' : 'IGNORED', detailOf(r)),
    });
    if (r.kind === 'mismatch') return { ok: false, detail: r.reason };
    return { ok: true, result: r.kind === 'applied' ? 'PROCESSED' : 'IGNORED' };
  }
  const refund = await deps.db.refund.findUnique({ where: { refundNo: n.refundNo } });
  // refundNo compared again byte for byte: the channel sent it, and utf8mb4_bin ignores trailing spaces.
  if (!refund || refund.refundNo !== n.refundNo || refund.payNo !== attempt.payNo) {
    return { ok: false, detail: `no refund ${n.refundNo} on this trade` };
  }
  if (n.amount !== undefined && n.amount !== refund.amount) {
    return { ok: false, detail: `refund amount ${n.amount} differs from ${refund.amount}` };
  }
  const changed = await applyRefundStatus(deps, refund, n.status, 'NOTIFY', (tx, changed) =>
    record(tx, changed ? 'PROCESSED' : 'IGNORED', `refund ${refund.refundNo}: ${n.status.channelStatus}`),
  );
  return { ok: true, result: changed ? 'PROCESSED' : 'IGNORED' };
}

const detailOf = (r: ApplyResult) => (r.kind === 'applied' ? `order is now ${r.order.status}` : r.reason);

/**
 * Redis answers "seen?" fast; only a receipt in the database makes it true, so a crash between the two loses
 * nothing. Returns the pay_no the notify was applied to, or undefined.
 */
async function seenBefore(deps: Deps, channel: ChannelName, notifyId: string): Promise<string | undefined> {
  const first = await deps.redis.set(`paysvc:notify:${channel}:${notifyId}`, '1', 'EX', SEEN_TTL_SECONDS, 'NX');
  return first === null ? findReceiptPayNo(deps.db, channel, notifyId) : undefined;
}

function entry(
  channel: string,
  raw: RawNotify,
  e: Pick<NotifyLogEntry, 'result' | 'detail' | 'notifyId' | 'kind' | 'payNo' | 'signatureValid'>,
): NotifyLogEntry {
  const headers = Object.fromEntries(
    Object.entries(raw.headers).filter((kv): kv is [string, string] => KEPT_HEADERS.test(kv[0]) && kv[1] !== undefined),
  );
  return { channel, tenantId: raw.tenantId, rawPayload: raw.rawBody.toString('utf8'), headers, ...e };
}
