import { z } from 'zod';

/**
 * The mock channel's JSON wire format, shared by the gateway (which parses requests) and the handler
 * (which parses responses and notifies). Amounts travel as integer strings of minor units; a plain JSON
 * integer is accepted only when it is exactly representable.
 */
const amountSchema = z
  .union([z.string().regex(/^(0|[1-9]\d{0,18})$/), z.number().int().nonnegative().refine(Number.isSafeInteger)])
  .transform((value) => BigInt(value));

const id = z.string().min(1).max(64);
const isoTime = z.iso.datetime({ offset: true });

export type MockTradeStatus = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND';
export type MockRefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

/** Error codes the gateway answers with, always as `{code, message}`. */
export type MockErrorCode =
  | 'SIGN_ERROR'
  | 'PARAM_ERROR'
  | 'OUT_TRADE_NO_USED'
  | 'OUT_REFUND_NO_USED'
  | 'TRADE_NOT_EXIST'
  | 'TRADE_PAID'
  | 'TRADE_CLOSED'
  | 'TRADE_NOT_PAID'
  | 'REFUND_EXCEEDS'
  | 'REFUND_NOT_EXIST'
  | 'SYSTEM_ERROR';

export const createTradeRequest = z.object({
  /** The merchant the trade is for; every answer and notify about it names it back. */
  mch_id: id,
  out_trade_no: id,
  amount: amountSchema,
  currency: z.string().length(3),
  subject: z.string().max(256),
  notify_url: z.url({ protocol: /^https?$/ }),
  expire_at: isoTime,
});

export const createRefundRequest = z.object({
  out_trade_no: id,
  out_refund_no: id,
  amount: amountSchema,
  total: amountSchema,
});

export const createTradeResponse = z.object({ trade_no: z.string(), pay_url: z.string() });

/** Statuses stay plain strings here so that an unexpected one maps to 'unknown' instead of failing the parse. */
export const tradeResponse = z.object({
  mch_id: z.string(),
  out_trade_no: z.string(),
  trade_no: z.string(),
  status: z.string(),
  amount: amountSchema,
  currency: z.string(),
  paid_at: isoTime.optional(),
  /** The buyer, once paid: an opaque id (the mock channel's openid). */
  payer_id: z.string().max(128).optional(),
});

export const refundResponse = z.object({
  mch_id: z.string(),
  out_refund_no: z.string(),
  out_trade_no: z.string(),
  refund_id: z.string(),
  status: z.string(),
  amount: amountSchema,
});

export const errorResponse = z.object({ code: z.string(), message: z.string().optional() });

const paymentNotify = z.object({
  notify_id: z.string().min(1),
  event: z.literal('TRADE.SUCCESS'),
  mch_id: z.string(),
  out_trade_no: z.string(),
  trade_no: z.string(),
  amount: amountSchema,
  currency: z.string(),
  paid_at: isoTime,
  payer_id: z.string().max(128).optional(),
});

const refundNotify = z.object({
  notify_id: z.string().min(1),
  event: z.enum(['REFUND.SUCCESS', 'REFUND.FAIL']),
  mch_id: z.string(),
  out_trade_no: z.string(),
  out_refund_no: z.string(),
  refund_id: z.string(),
  amount: amountSchema,
});

export const notifyBody = z.discriminatedUnion('event', [paymentNotify, refundNotify]);

export type TradeResponse = z.infer<typeof tradeResponse>;
export type RefundResponse = z.infer<typeof refundResponse>;
export type NotifyBody = z.infer<typeof notifyBody>;
/** What the gateway writes: the same shapes with amounts as integer strings. */
export type TradeJson = z.input<typeof tradeResponse> & { status: MockTradeStatus; amount: string };
export type RefundJson = z.input<typeof refundResponse> & { status: MockRefundStatus; amount: string };
export type NotifyJson = z.input<typeof notifyBody> & { amount: string };
