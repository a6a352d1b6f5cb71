import { z } from 'zod';
import { DESCRIPTION_MAX_CHARS, OUT_NO } from '../../src/channels/wechat/transformers';

/** The request bodies the sandbox accepts, validated as strictly as WeChat Pay documents them. */
const fen = z
  .number()
  .int()
  .positive()
  .refine(Number.isSafeInteger, 'not a safe integer')
  .transform((n) => BigInt(n));
const outNo = z.string().regex(OUT_NO, 'must be 6-32 of [0-9A-Za-z_-|*]');
const chars = (max: number) => z.string().refine((s) => Array.from(s).length <= max, `at most ${max} characters`);

export const prepayRequest = z.object({
  appid: z.string().min(1).max(32),
  mchid: z.string().min(1).max(32),
  description: chars(DESCRIPTION_MAX_CHARS).pipe(z.string().min(1)),
  out_trade_no: outNo,
  time_expire: z.iso.datetime({ offset: true }).optional(),
  attach: chars(128).optional(),
  notify_url: z.url({ protocol: /^https?$/ }).max(256),
  goods_tag: z.string().max(32).optional(),
  support_fapiao: z.boolean().optional(),
  amount: z.object({ total: fen, currency: z.literal('CNY').optional() }),
  payer: z.object({ openid: z.string().min(1).max(128) }).optional(),
  scene_info: z
    .object({
      payer_client_ip: z.string().min(1).max(45),
      device_id: z.string().optional(),
      h5_info: z
        .object({ type: z.enum(['iOS', 'Android', 'Wap']) })
        .loose()
        .optional(),
    })
    .loose()
    .optional(),
  detail: z.unknown().optional(),
  settle_info: z.unknown().optional(),
});

export const closeRequest = z.object({ mchid: z.string().min(1) });

export const refundRequest = z
  .object({
    transaction_id: z.string().min(1).optional(),
    out_trade_no: outNo.optional(),
    out_refund_no: z.string().regex(/^[0-9A-Za-z_\-|*@]{1,64}$/),
    reason: chars(80).optional(),
    notify_url: z
      .url({ protocol: /^https?$/ })
      .max(256)
      .optional(),
    funds_account: z.string().optional(),
    amount: z.object({ refund: fen, total: fen, currency: z.literal('CNY') }).loose(),
  })
  .refine((r) => r.transaction_id !== undefined || r.out_trade_no !== undefined, {
    message: 'transaction_id or out_trade_no is required',
  });

export type PrepayRequest = z.infer<typeof prepayRequest>;
export type RefundRequest = z.infer<typeof refundRequest>;
