import type { StatementLineKind } from '../../src/reconcile';

/**
 * One payment or refund as a sandbox writes it into a statement file: what src/reconcile's StatementLine carries,
 * with the file's own details optional. Defaults: settledAmount = amount, no fee, the channel's success word.
 */
export interface StatementRow {
  kind: StatementLineKind;
  outTradeNo: string;
  channelTradeNo: string;
  outRefundNo?: string;
  channelRefundNo?: string;
  /** Fen, > 0. */
  amount: bigint;
  settledAmount?: bigint;
  /** Milli-fen: + charged, - returned (each writer prints it with the channel's sign). */
  feeMilliFen?: bigint;
  status?: string;
  occurredAt: Date;
  productName?: string;
}

export type Rows = Iterable<StatementRow> | AsyncIterable<StatementRow>;

/** Rows as text chunks of about 64 KiB: one string per row would cost a million writes. */
export async function* chunked(lines: AsyncIterable<string> | Iterable<string>, size = 64 * 1024): AsyncGenerator<string, void> {
  let buffer = '';
  for await (const line of lines) {
    buffer += line;
    if (buffer.length >= size) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
