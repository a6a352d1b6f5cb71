import { z } from 'zod';

/**
 * WeChat Pay API v3 wire shapes as the handlers read them (responses and decrypted notify resources).
 * Statuses stay plain strings so that one we do not know maps to 'unknown' instead of failing the parse.
 * Amounts are JSON integers of fen; only exactly representable ones are accepted, and they become bigint.
 */
const fen = z
  .number()
  .int()
  .nonnegative()
  .refine(Number.isSafeInteger, 'not a safe integer')
  .transform((n) => BigInt(n));

const rfc3339 = z.iso.datetime({ offset: true });

export const TRADE_STATES = ['SUCCESS', 'REFUND', 'NOTPAY', 'USERPAYING', 'CLOSED', 'REVOKED', 'PAYERROR'] as const;
export type WechatTradeState = (typeof TRADE_STATES)[number];

export const REFUND_STATUSES = ['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL'] as const;
export type WechatRefundStatus = (typeof REFUND_STATUSES)[number];

/** The events a notify can carry that we act on. */
export const PAYMENT_EVENT = 'TRANSACTION.SUCCESS';
export const REFUND_EVENTS = ['REFUND.SUCCESS', 'REFUND.CLOSED', 'REFUND.ABNORMAL'] as const;

export const prepayIdResponse = z.object({ prepay_id: z.string().min(1) });
export const codeUrlResponse = z.object({ code_url: z.string().min(1) });
export const h5UrlResponse = z.object({ h5_url: z.string().min(1) });

/** The Transaction object (query answers and the decrypted TRANSACTION.SUCCESS resource). */
export const transaction = z.object({
  appid: z.string().optional(),
  mchid: z.string().optional(),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().optional(),
  trade_type: z.string().optional(),
  trade_state: z.string().min(1),
  trade_state_desc: z.string().optional(),
  success_time: rfc3339.optional(),
  attach: z.string().optional(),
  payer: z.object({ openid: z.string().optional() }).optional(),
  amount: z
    .object({
      total: fen.optional(),
      payer_total: fen.optional(),
      currency: z.string().optional(),
      payer_currency: z.string().optional(),
    })
    .optional(),
});

/** The Refund object (refund and refund query answers). */
export const refund = z.object({
  refund_id: z.string().min(1),
  out_refund_no: z.string().min(1),
  transaction_id: z.string().optional(),
  out_trade_no: z.string().optional(),
  status: z.string().min(1),
  success_time: rfc3339.optional(),
  amount: z.object({ total: fen, refund: fen, currency: z.string().optional() }),
});

/** The decrypted resource of a REFUND.* notify: note `refund_status`, not `status`. */
export const refundResource = z.object({
  mchid: z.string(),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().optional(),
  out_refund_no: z.string().min(1),
  refund_id: z.string().min(1),
  refund_status: z.string().min(1),
  success_time: rfc3339.optional(),
  amount: z.object({ total: fen, refund: fen, payer_total: fen.optional(), payer_refund: fen.optional() }),
});

export const errorBody = z.object({ code: z.string().min(1), message: z.string().optional() });

export const notifyEnvelope = z.object({
  id: z.string().min(1),
  create_time: z.string().optional(),
  event_type: z.string().min(1),
  resource_type: z.string().optional(),
  summary: z.string().optional(),
  resource: z.object({
    algorithm: z.string(),
    ciphertext: z.string().min(1),
    nonce: z.string().min(1),
    associated_data: z.string().optional(),
    original_type: z.string().optional(),
  }),
});

export type Transaction = z.infer<typeof transaction>;
export type Refund = z.infer<typeof refund>;
export type RefundResource = z.infer<typeof refundResource>;
export type NotifyEnvelope = z.infer<typeof notifyEnvelope>;
export type NotifyResource = NotifyEnvelope['resource'];

/** What a prepay request carries (POST /v3/pay/transactions/{app,jsapi,native,h5}). */
export interface PrepayBody {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  time_expire: string;
  attach?: string;
  notify_url: string;
  amount: { total: number; currency: 'CNY' };
  payer?: { openid: string };
  scene_info?: { payer_client_ip: string; h5_info: { type: 'Wap' } };
}

/** What a refund request carries (POST /v3/refund/domestic/refunds). */
export interface RefundBody {
  out_trade_no: string;
  out_refund_no: string;
  reason?: string;
  notify_url: string;
  amount: { refund: number; total: number; currency: 'CNY' };
}
