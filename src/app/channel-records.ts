import type {
  ChannelSaid,
  CloseResult,
  PrepayResult,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  TradeStatus,
  VerifiedNotify,
} from '../channels/types';
import { CHANNEL_RECORD_VALUE_CHARS, type ChannelRecord } from '../domain/channel-record';

/**
 * The records an attempt or refund keeps of its exchanges with the channel (see ChannelRecord), built from what
 * the handlers return. Only fields picked here go in: our numbers and amounts, the channel's statuses, codes and
 * words, the payer's amount. Never the account, a payload (a signed order string or sign params), headers or raw
 * bodies: what is not picked cannot leak. Every value is cut to CHANNEL_RECORD_VALUE_CHARS.
 */

type Value = string | number | bigint | Date | undefined;

function fields(values: Record<string, Value>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === '') continue;
    const text = value instanceof Date ? value.toISOString() : String(value);
    out[key] = Array.from(text).slice(0, CHANNEL_RECORD_VALUE_CHARS).join('');
  }
  return out;
}

const tradeSent = (t: TradeSnapshot) => fields({ out_trade_no: t.attemptNo, amount: t.amount, currency: t.currency });
const refundSent = (r: RefundSnapshot) =>
  fields({ out_trade_no: r.attemptNo, out_refund_no: r.refundNo, amount: r.amount, currency: r.currency });

/** The channel's own code, sub_code and words; `why` (our reason: no answer, a failed check) when it said none. */
const saidFields = (said: ChannelSaid | undefined, why?: string) => ({
  http_status: said?.httpStatus,
  code: said?.code,
  sub_code: said?.subCode,
  message: said?.message ?? why,
  payer_amount: said?.payerAmount,
});

const tradeAnswer = (s: TradeStatus) => ({
  outcome: s.outcome,
  status: s.channelStatus,
  trade_no: s.channelTradeNo,
  paid_amount: s.outcome === 'success' ? s.paidAmount : undefined,
  paid_at: s.outcome === 'success' ? s.paidAt : undefined,
  ...saidFields(s.said, s.reason),
});

const record = (
  operation: ChannelRecord['operation'],
  said: ChannelSaid | undefined,
  sent: Record<string, string>,
  answer: Record<string, Value>,
  at = new Date(),
): ChannelRecord => ({ operation, endpoint: said?.endpoint ?? '', sent, answer: fields(answer), at: at.toISOString() });

export function prepayRecord(trade: TradeSnapshot, r: PrepayResult): ChannelRecord {
  const answer =
    r.outcome === 'success'
      ? { outcome: r.outcome, trade_no: r.channelTradeNo, payload_kind: r.payload.kind, ...saidFields(r.said) }
      : { outcome: r.outcome, ...saidFields(r.said, r.reason) };
  return record('prepay', r.said, tradeSent(trade), answer);
}

export function queryRecord(trade: TradeSnapshot, s: TradeStatus): ChannelRecord {
  return record('query', s.said, tradeSent(trade), tradeAnswer(s));
}

export function closeRecord(trade: TradeSnapshot, r: CloseResult): ChannelRecord {
  const why = r.outcome === 'unknown' ? r.reason : undefined;
  return record('close', r.said, tradeSent(trade), { outcome: r.outcome, ...saidFields(r.said, why) });
}

export function refundRecord(operation: 'refund' | 'query_refund', refund: RefundSnapshot, s: RefundStatusResult): ChannelRecord {
  const answer = { outcome: s.outcome, status: s.channelStatus, refund_id: s.channelRefundNo, ...saidFields(s.said, s.reason) };
  return record(operation, s.said, refundSent(refund), answer);
}

/** A verified notify: nothing was sent; the answer is what the channel told us, with its notify id. */
export function notifyRecord(n: VerifiedNotify): ChannelRecord {
  if (n.kind === 'payment') return record('notify', undefined, {}, { notify_id: n.notifyId, ...tradeAnswer(n.status) });
  const s = n.status;
  const answer = {
    notify_id: n.notifyId,
    outcome: s.outcome,
    status: s.channelStatus,
    refund_id: s.channelRefundNo,
    amount: n.amount,
    ...saidFields(s.said, s.reason),
  };
  return record('notify', undefined, {}, answer);
}
