/**
 * One exchange with a channel as an attempt or a refund keeps it, so support can answer "what did the channel
 * say?" from Query alone: the call made and our key fields in it, the channel's answer in its own words. Built
 * by src/app/channel-records.ts from what the handlers return; never a key, a signature or a signed payload.
 */
export interface ChannelRecord {
  operation: 'prepay' | 'query' | 'close' | 'refund' | 'query_refund' | 'notify';
  /** The channel API called; '' for a notify (the channel called us). */
  endpoint: string;
  /** Our key fields sent (out_trade_no, out_refund_no, amount, currency). */
  sent: Record<string, string>;
  /** What the channel said (outcome, status, code, sub_code, message, …), only the fields it gave. */
  answer: Record<string, string>;
  /** When the answer or notify was received, ISO 8601. */
  at: string;
}

/** How many exchanges a row keeps: the newest; older ones fall off, so a row's records stay bounded. */
export const KEPT_CHANNEL_RECORDS = 6;
/** Every value is cut to this many characters (a channel's message can be long). */
export const CHANNEL_RECORD_VALUE_CHARS = 256;
