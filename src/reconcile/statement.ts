/**
 * What a channel's daily statement says, in one shape for every channel (each channel's parser lives in its own
 * folder, src/channels/<channel>/statement/): a stream of lines (one per payment or
 * refund the channel moved that day) and, once the stream has ended, the file's totals, already checked against
 * the file's own footer or summary section. Parsers are pure: bytes in, lines out; no database, no clock.
 *
 * Money is bigint: amounts in fen, fees in milli-fen (1/1000 fen = 0.00001 yuan, the finest unit WeChat prints),
 * so no fee is ever rounded. A fee is positive when the channel charged the merchant and negative when it gave
 * a fee back, whatever sign the channel prints (Alipay prints its service fee negative, WeChat positive).
 */
import type { ChannelName } from '../channels/types';

export type StatementLineKind = 'payment' | 'refund';

export interface StatementLine {
  channel: ChannelName;
  kind: StatementLineKind;
  /** The out_trade_no we sent (the attempt's number); on a refund line, the refunded trade's. */
  outTradeNo: string;
  /** Alipay trade_no / WeChat transaction_id; on a refund line, the refunded trade's. */
  channelTradeNo: string;
  /** Refund lines: the out_request_no / out_refund_no we sent (Alipay: absent when its cell is empty). */
  outRefundNo?: string;
  /** Refund lines, WeChat only: refund_id. Alipay's statement has no refund number of its own. */
  channelRefundNo?: string;
  /** Fen, > 0: the trade's total (total_amount), or the refund amount asked for. Never signed. */
  amount: bigint;
  /** Fen, >= 0: what moved in the merchant's account (Alipay 商家实收, WeChat 应结订单金额 / 退款金额). */
  settledAmount: bigint;
  /** Milli-fen, exact: + charged to the merchant, - returned to the merchant. */
  feeMilliFen: bigint;
  currency: 'CNY';
  /** The channel's own word: Alipay's 业务类型 (交易/退款); WeChat's 交易状态, or 退款状态 on refund lines. */
  status: string;
  /** When the channel completed it (Beijing time in the file). */
  occurredAt: Date;
  /** 1-based line number in the (decompressed, decoded) file, for a difference to point at. */
  line: number;
}

export interface StatementTotals {
  count: number;
  amount: bigint;
  settledAmount: bigint;
  feeMilliFen: bigint;
}

export interface StatementSummary {
  channel: ChannelName;
  payments: StatementTotals;
  refunds: StatementTotals;
  /** Each figure of the file's footer or summary that the lines were checked against, as `name=value`. */
  checked: string[];
  /** Alipay: the account the file names (`#账号`, the PID followed by 0156). */
  account?: string;
  /** Alipay: `#导出时间`. */
  exportedAt?: Date;
}

export function emptyTotals(): StatementTotals {
  return { count: 0, amount: 0n, settledAmount: 0n, feeMilliFen: 0n };
}

export function addToTotals(totals: StatementTotals, line: StatementLine): void {
  totals.count += 1;
  totals.amount += line.amount;
  totals.settledAmount += line.settledAmount;
  totals.feeMilliFen += line.feeMilliFen;
}

/**
 * A statement being read: iterate it once (for await) to get its lines; `summary` is there when the iteration
 * ended without an error. An error thrown at the end (a totals or hash mismatch) voids every line already seen,
 * so a consumer stages lines and acts on them only once the summary is there.
 */
export class StatementStream implements AsyncIterable<StatementLine> {
  #summary?: StatementSummary;
  #started = false;

  constructor(private readonly read: () => AsyncGenerator<StatementLine, StatementSummary>) {}

  get summary(): StatementSummary {
    if (!this.#summary) throw new Error('the statement has not been read to its end');
    return this.#summary;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StatementLine, void> {
    if (this.#started) throw new Error('a statement can be read only once');
    this.#started = true;
    this.#summary = yield* this.read();
  }
}

/** Reads a whole statement into memory: for tests and small files only. */
export async function readStatement(stream: StatementStream): Promise<{ lines: StatementLine[]; summary: StatementSummary }> {
  const lines: StatementLine[] = [];
  for await (const line of stream) lines.push(line);
  return { lines, summary: stream.summary };
}
