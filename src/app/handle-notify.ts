import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { NotifyResult } from '../generated/prisma/enums';
import type { ChannelNotifyPort, NotifyAck, NotifyVerification, RawNotify, VerifiedNotify } from '../channels/types';
import { findAttempt, type PayAttempt } from '../repo/pay-orders';
import {
  findNotifiedAttempt,
  insertReceipt,
  recordNotify,
  rememberReceipt,
  seenReceipt,
  type NotifyLogEntry,
  type ReceiptKey,
} from '../repo/notifies';
import { findRefundByNo } from '../repo/refunds';
import { isUniqueViolation, type Tx } from '../repo/tx';
import { applyRefundStatus } from './apply-refund-status';
import { applyTradeStatus, type ApplyResult } from './apply-trade-status';
import { notifyRecord } from './channel-records';
import type { Deps } from './deps';
import { spendUnverifiedBudget } from './notify-guards';
import { scheduleRefundSync, scheduleSync } from './schedule-sync';

/** What every notify record keeps of the headers, besides the channel's own (its module's keptHeaders). */
const ALWAYS_KEPT_HEADERS = /^(content-type|user-agent)$/i;
/** What a rejected notify keeps of its body (with the full length and digest): enough to read, too little to abuse. */
export const REJECTED_BODY_BYTES = 4096;
const HEADER_VALUE_CHARS = 512;
/** What any notify nothing here could verify is told, whatever the reason. */
const UNVERIFIED = 'signature verification failed';

/**
 * A channel's notify, from raw bytes to its answer: verify the signature, cross-check against the local
 * order, deduplicate per trade, apply the change exactly once (with its receipt and record in the same
 * transaction), and answer in the channel's dialect. An unverified notify never changes anything.
 */
export async function handleNotify(deps: Deps, handler: ChannelNotifyPort, raw: RawNotify): Promise<NotifyAck> {
  const { result, ack } = await processNotify(deps, handler, raw);
  deps.metrics.notifies.inc({ channel: handler.channel, result });
  return ack;
}

type Handled = { result: NotifyResult | 'RATE_LIMITED' | 'NO_ACCOUNT'; ack: NotifyAck };
type Log = (result: NotifyResult, detail: string, n?: VerifiedNotify, payNo?: string | null) => NotifyLogEntry;

async function processNotify(deps: Deps, handler: ChannelNotifyPort, raw: RawNotify): Promise<Handled> {
  const channel = handler.channel;
  const log: Log = (result, detail, n, payNo = null) =>
    entry(handler, raw, { result, detail, notifyId: n?.notifyId ?? '', kind: n?.kind ?? 'unknown', payNo, signatureValid: !!n });

  // An unregistered tenant has no account anywhere: answered, never stored.
  if (!(await deps.tenants.get(raw.tenantId))) return noAccount(deps, handler);
  const account = await deps.accounts.get(raw.tenantId, channel);
  if (!account) return noAccount(deps, handler);
  const verification = refuseRepeats(handler, raw, await handler.verifyNotify(raw, account));
  if (!verification.valid) return rejectUnverified(deps, handler, raw, verification, log);
  const n = verification.notify;
  const key: ReceiptKey = { channel, tenantId: raw.tenantId, attemptNo: n.attemptNo, notifyId: n.notifyId };
  // A re-delivery of a notify this process saw applied: answered from memory (no read), recorded.
  const seen = seenReceipt(deps.db, key);
  if (seen !== undefined) return duplicate(deps, handler, log('DUPLICATE', 'already applied', n, seen));
  // The trade and this notify's receipt on it in one read: a re-delivery is answered without a transaction.
  const found = await findNotifiedAttempt(deps.db, n.attemptNo, { channel, tenantId: raw.tenantId, notifyId: n.notifyId });
  if (!found || found.attempt.tenantId !== raw.tenantId || found.attempt.channel !== channel) {
    await recordNotify(deps.db, log('REJECTED', `no ${channel} trade ${n.attemptNo} for tenant ${raw.tenantId}`, n));
    return { result: 'REJECTED', ack: handler.ackNotify(false, 'unknown trade') };
  }
  const { attempt } = found;
  if (found.applied) {
    rememberReceipt(deps.db, key, attempt.payNo);
    return duplicate(deps, handler, log('DUPLICATE', 'already applied', n, attempt.payNo));
  }
  // Not applied when read: the receipt, written in the applying transaction, is the dedupe truth (a concurrent
  // delivery of the same notify loses on its unique key and is answered DUPLICATE below).
  const record: Recorder = async (tx, result, detail) => {
    await insertReceipt(tx, key, attempt.payNo); // a second one for this trade is a unique violation
    await recordNotify(tx, log(result, detail, n, attempt.payNo));
  };
  try {
    const applied = await apply(deps, attempt, n, record);
    if (applied.ok) {
      rememberReceipt(deps.db, key, attempt.payNo); // written by `record` in the transaction apply committed
      return { result: applied.result, ack: handler.ackNotify(true) };
    }
    await recordNotify(deps.db, log('REJECTED', applied.detail, n, attempt.payNo));
    deps.log.error({ channel, payNo: attempt.payNo, notifyId: n.notifyId, reason: applied.detail }, 'notify contradicts the order');
    await askTheChannel(deps, attempt, n);
    return { result: 'REJECTED', ack: handler.ackNotify(false, applied.detail) };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return duplicate(deps, handler, log('DUPLICATE', 'applied concurrently', n, attempt.payNo));
  }
}

/** A notify already applied: recorded, and acknowledged so the channel stops re-delivering it. */
async function duplicate(deps: Deps, handler: ChannelNotifyPort, record: NotifyLogEntry): Promise<Handled> {
  await recordNotify(deps.db, record);
  return { result: 'DUPLICATE', ack: handler.ackNotify(true) };
}

type Recorder = (tx: Tx, result: NotifyResult, detail: string) => Promise<void>;

/**
 * A signature header given twice is refused whatever the signature check said (Node would have joined or dropped
 * the repeat, so the check saw something the channel did not send). The trade it names is kept as a hint only.
 */
function refuseRepeats(handler: ChannelNotifyPort, raw: RawNotify, v: NotifyVerification): NotifyVerification {
  const repeated = raw.repeatedHeaders?.find((name) => handler.notifySignatureHeaders.includes(name));
  if (!repeated) return v;
  return { valid: false, reason: `header ${repeated} given more than once`, attemptNo: v.valid ? v.notify.attemptNo : v.attemptNo };
}

/**
 * No account at this channel for the URL's tenant: nothing could verify the notify, and nothing is stored for
 * it (anyone can make up tenant ids). It is answered in the channel's failure dialect and counted against the
 * service-wide budget, past which it gets 429.
 */
async function noAccount(deps: Deps, handler: ChannelNotifyPort): Promise<Handled> {
  // The same words as for a bad signature: the answer must not tell a stranger which tenants have an account here.
  const ack = handler.ackNotify(false, UNVERIFIED);
  if ((await spendUnverifiedBudget(deps, handler.channel)) === 'exceeded') return { result: 'RATE_LIMITED', ack: { ...ack, status: 429 } };
  return { result: 'NO_ACCOUNT', ack };
}

/**
 * A notify that cannot be verified is never trusted. Within the per-tenant and the service-wide budget it is
 * recorded (the head of its body) and, if it names one of the tenant's trades, that trade is queried at the
 * channel, so a real payment behind a bad notify is still found; past either budget it is refused unread (429).
 */
async function rejectUnverified(
  deps: Deps,
  handler: ChannelNotifyPort,
  raw: RawNotify,
  v: { reason: string; attemptNo?: string },
  log: Log,
): Promise<Handled> {
  const ack = handler.ackNotify(false, UNVERIFIED);
  if ((await spendUnverifiedBudget(deps, handler.channel, raw.tenantId)) === 'exceeded') {
    return { result: 'RATE_LIMITED', ack: { ...ack, status: 429 } };
  }
  const hinted = v.attemptNo ? await findAttempt(deps.db, v.attemptNo) : null;
  const attempt = hinted && hinted.tenantId === raw.tenantId && hinted.channel === handler.channel ? hinted : null;
  await recordNotify(deps.db, log('REJECTED', v.reason, undefined, attempt?.payNo ?? null));
  deps.log.warn(
    { channel: handler.channel, tenantId: raw.tenantId, reason: v.reason, attemptNo: attempt?.attemptNo },
    'notify failed verification',
  );
  if (attempt) await scheduleSync(deps, attempt.attemptNo);
  return { result: 'REJECTED', ack };
}

/** A signed notify that contradicts the order proves nothing; the channel's answer to a query settles it. */
async function askTheChannel(deps: Deps, attempt: PayAttempt, n: VerifiedNotify): Promise<void> {
  if (n.kind === 'payment') return scheduleSync(deps, attempt.attemptNo);
  const refund = await findRefundByNo(deps.db, n.refundNo);
  if (refund && refund.payNo === attempt.payNo && refund.status === 'PENDING') await scheduleRefundSync(deps, refund.refundNo);
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
      record: notifyRecord(n),
      inTx: (tx, r) =>
        r.kind === 'mismatch' ? Promise.resolve() : record(tx, r.kind === 'applied' ? 'PROCESSED' : 'IGNORED', detailOf(r)),
    });
    if (r.kind === 'mismatch') return { ok: false, detail: r.reason };
    return { ok: true, result: r.kind === 'applied' ? 'PROCESSED' : 'IGNORED' };
  }
  const refund = await findRefundByNo(deps.db, n.refundNo);
  // The refund of this very trade: one of another attempt of the same order is not this trade's to settle.
  if (!refund || refund.payNo !== attempt.payNo || refund.attemptNo !== attempt.attemptNo) {
    return { ok: false, detail: `no refund ${n.refundNo} on this trade` };
  }
  // A final word about a refund must name its amount; one that proves no amount is only a reason to ask.
  const final = n.status.outcome === 'success' || n.status.outcome === 'fail';
  if (final && n.amount === undefined) return { ok: false, detail: `refund notify for ${refund.refundNo} names no amount` };
  if (n.amount !== undefined && n.amount !== refund.amount) {
    return { ok: false, detail: `refund amount ${n.amount} differs from ${refund.amount}` };
  }
  const changed = await applyRefundStatus(deps, refund, n.status, { cause: 'NOTIFY', record: notifyRecord(n) }, (tx, changed) =>
    record(tx, changed ? 'PROCESSED' : 'IGNORED', `refund ${refund.refundNo}: ${n.status.channelStatus}`),
  );
  if (!final && refund.status === 'PENDING') await scheduleRefundSync(deps, refund.refundNo);
  return { ok: true, result: changed ? 'PROCESSED' : 'IGNORED' };
}

const detailOf = (r: ApplyResult) => (r.kind === 'applied' ? `order is now ${r.order.status}` : r.reason);

function entry(
  { channel, keptHeaders }: ChannelNotifyPort,
  raw: RawNotify,
  e: Pick<NotifyLogEntry, 'result' | 'detail' | 'notifyId' | 'kind' | 'payNo' | 'signatureValid'>,
): NotifyLogEntry {
  const headers = Object.fromEntries(
    Object.entries(raw.headers)
      .filter((kv): kv is [string, string] => (ALWAYS_KEPT_HEADERS.test(kv[0]) || keptHeaders.test(kv[0])) && kv[1] !== undefined)
      .map(([k, v]) => [k, v.slice(0, HEADER_VALUE_CHARS)]),
  );
  const body = e.result === 'REJECTED' ? raw.rawBody.subarray(0, REJECTED_BODY_BYTES) : raw.rawBody;
  return {
    channel,
    tenantId: raw.tenantId,
    rawPayload: new StringDecoder('utf8').write(body), // a character cut in half at the end is left out
    payloadBytes: raw.rawBody.length,
    payloadSha256: createHash('sha256').update(raw.rawBody).digest('hex'),
    headers,
    ...e,
  };
}
