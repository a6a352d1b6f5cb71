import { z } from 'zod';
import { isYuan, yuanToFen } from './amount';

/**
 * The shapes of the classic gateway's answers (with `camelcase: false`) and of its notifies. Statuses stay plain
 * strings so that an unexpected one maps to 'unknown' instead of failing the parse; amounts become fen.
 */
const yuan = z.string().refine(isYuan, 'must be a yuan amount').transform(yuanToFen);
const text = z.string();

/** Every answer carries these; `code` other than 10000 is the channel's explicit error. */
export const commonAnswer = z.object({
  code: text,
  msg: text.optional(),
  sub_code: text.optional(),
  sub_msg: text.optional(),
});

export const precreateAnswer = z.object({ out_trade_no: text, qr_code: z.string().min(1) });

export const queryAnswer = z.object({
  trade_no: text.optional(),
  out_trade_no: text.optional(),
  trade_status: text,
  total_amount: yuan,
  send_pay_date: text.optional(),
  buyer_user_id: text.optional(),
  buyer_open_id: text.optional(),
  /** Masked by Alipay (e.g. buy***@example.com); kept as it comes. */
  buyer_logon_id: text.optional(),
  buyer_pay_amount: yuan.optional(),
});

export const closeAnswer = z.object({ trade_no: text.optional(), out_trade_no: text.optional() });

export const refundAnswer = z.object({
  trade_no: text.optional(),
  out_trade_no: text.optional(),
  fund_change: text,
  refund_fee: yuan.optional(),
});

export const refundQueryAnswer = z.object({
  trade_no: text.optional(),
  out_trade_no: text.optional(),
  out_request_no: text.optional(),
  refund_status: text.optional(),
  refund_amount: yuan.optional(),
});

/** An async notify, values as the form decoder gave them; only what we act on is required. */
export const notifyForm = z.object({
  notify_id: z.string().min(1),
  notify_type: text.optional(),
  app_id: z.string().min(1),
  seller_id: text.optional(),
  trade_no: text.optional(),
  out_trade_no: z.string().min(1),
  trade_status: z.string().min(1),
  total_amount: yuan,
  gmt_payment: text.optional(),
  buyer_id: text.optional(),
  buyer_open_id: text.optional(),
  buyer_logon_id: text.optional(),
  buyer_pay_amount: yuan.optional(),
  out_biz_no: text.optional(),
  refund_fee: yuan.optional(),
  gmt_refund: text.optional(),
});

export type CommonAnswer = z.infer<typeof commonAnswer>;
export type QueryAnswer = z.infer<typeof queryAnswer>;
export type RefundAnswer = z.infer<typeof refundAnswer>;
export type RefundQueryAnswer = z.infer<typeof refundQueryAnswer>;
export type NotifyForm = z.infer<typeof notifyForm>;
