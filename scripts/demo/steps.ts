import { OrderStatus, PayWay, RefundStatus } from '../../src/client';
import { DeliveryStatus, PaymentEventType } from '../../src/gen/payment/v1/events';
import { NotifyResult } from '../../src/gen/payment/v1/types';

/** A step of the demo that did not happen: what went wrong, and what to check. */
export class DemoError extends Error {
  override readonly name = 'DemoError';

  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Runs `work` for at most `ms`; on timeout or failure, a DemoError saying what did not happen and what to check. */
export async function within<T>(ms: number, what: string, hint: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new DemoError(`${what}: not within ${(ms / 1000).toFixed(0)} s`, hint));
    }, ms);
  });
  try {
    return await Promise.race([work(abort.signal), timeout]);
  } catch (err) {
    if (err instanceof DemoError) throw err;
    throw new DemoError(`${what}: ${reason(err)}`, hint);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** An error's message, with its cause's code when it has one (fetch says only "fetch failed"). */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: string } | undefined)?.code;
  return code ? `${err.message} (${code})` : err.message;
}

/** Polls `probe` every 100 ms until it returns a value (not undefined) or `signal` aborts. */
export async function poll<T>(signal: AbortSignal, probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (signal.aborted) throw new Error('aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fen (bigint, the source of truth) as yuan for reading: 1999n → "¥19.99". */
export function yuan(fen: bigint): string {
  const sign = fen < 0n ? '-' : '';
  const abs = fen < 0n ? -fen : fen;
  return `${sign}¥${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

const short = (name: string | undefined, prefix: string) => (name ?? 'UNKNOWN').replace(prefix, '');
export const statusName = (s: OrderStatus) => short(OrderStatus[s], 'ORDER_STATUS_');
export const refundStatusName = (s: RefundStatus) => short(RefundStatus[s], 'REFUND_STATUS_');
export const payWayName = (w: PayWay) => short(PayWay[w], 'PAY_WAY_');
export const eventTypeName = (t: PaymentEventType) => short(PaymentEventType[t], 'PAYMENT_EVENT_TYPE_');
export const deliveryName = (d: DeliveryStatus) => short(DeliveryStatus[d], 'DELIVERY_STATUS_');
export const notifyResultName = (r: NotifyResult) => short(NotifyResult[r], 'NOTIFY_RESULT_');
