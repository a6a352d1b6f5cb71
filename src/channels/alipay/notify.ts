import type { ChannelNotify } from '../channel-module';
import type { NotifyAck, VerifiedNotify } from '../types';
import { alipaySignContent, rsa2Verify } from './signing';
import { parseBeijingTime } from './time';
import { alipayPayer, tradeOutcome } from './transformers';
import { notifyForm, type NotifyForm } from './wire';

/**
 * Alipay's async notify: a form POST, signed by Alipay over every field but `sign` and `sign_type`, with the
 * values as decoded (no re-encoding, no JSON re-serialisation of fund_bill_list). It is parsed only once verified.
 */
export function parseNotifyBody(rawBody: Buffer): { form: Record<string, string> } | { invalid: string } {
  const form = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    if (Object.hasOwn(form, key)) return { invalid: `field ${key} given twice` };
    form[key] = value;
  }
  return { form };
}

export function verifyNotifyForm(form: Record<string, string>, alipayPublicKeyPem: string): string | undefined {
  if (!form.sign) return 'notify has no sign';
  if (form.sign_type !== undefined && form.sign_type !== 'RSA2') return `unsupported sign_type ${form.sign_type}`;
  if (form.charset !== undefined && form.charset.toLowerCase() !== 'utf-8') return `unsupported charset ${form.charset}`;
  const content = alipaySignContent(form, { dropSignType: true });
  return rsa2Verify(content, form.sign, alipayPublicKeyPem) ? undefined : 'bad notify signature';
}

/** A verified notify's fields → what it says, and whose it claims to be (checked by the base). */
export function toChannelNotify(form: Record<string, string>): ChannelNotify {
  const parsed = notifyForm.safeParse(form);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { invalid: `unrecognised notify: ${issue?.path.join('.')} ${issue?.message}` };
  }
  const n = parsed.data;
  if (n.out_biz_no && n.refund_fee === undefined && !n.gmt_refund) return { invalid: 'out_biz_no without refund fields' };
  return { notify: toVerifiedNotify(n), identity: { outTradeNo: n.out_trade_no, appId: n.app_id, merchantId: n.seller_id || undefined } };
}

/**
 * With out_biz_no it is a refund notify about that out_request_no (TRADE_SUCCESS after a partial refund,
 * TRADE_CLOSED after a full one). Its refund_fee is the trade's cumulative refunded total, not this refund's
 * amount, so it proves no amount: 'unknown', and the core asks fastpay.refund.query (cross-checked there, with
 * the per-refund amount) instead of taking the notify's word.
 * Without out_biz_no it is the trade's status. TRADE_CLOSED with signs of a payment (gmt_payment, refund_fee)
 * is a paid trade closed by a full refund: 'unknown', never 'fail'.
 */
export function toVerifiedNotify(n: NotifyForm): VerifiedNotify {
  if (n.out_biz_no) {
    return {
      kind: 'refund',
      notifyId: n.notify_id,
      attemptNo: n.out_trade_no,
      refundNo: n.out_biz_no,
      status: {
        outcome: 'unknown',
        channelStatus: 'REFUND_NOTIFY',
        reason: 'an Alipay refund notify names no per-refund amount; the refund query settles it',
      },
    };
  }
  const paidAt = parseBeijingTime(n.gmt_payment);
  const closedAfterPayment = n.trade_status === 'TRADE_CLOSED' && (paidAt !== undefined || n.refund_fee !== undefined);
  const outcome = closedAfterPayment ? 'unknown' : tradeOutcome(n.trade_status);
  return {
    kind: 'payment',
    notifyId: n.notify_id,
    attemptNo: n.out_trade_no,
    status: {
      outcome,
      channelStatus: n.trade_status,
      channelTradeNo: n.trade_no,
      currency: 'CNY',
      ...(closedAfterPayment && { reason: 'trade closed after payment (fully refunded)' }),
      ...(outcome === 'fail' && n.trade_status === 'TRADE_CLOSED' && { closedUnpaid: true }),
      ...(outcome === 'success' && {
        paidAmount: n.total_amount,
        ...(paidAt && { paidAt }),
        ...alipayPayer({ openId: n.buyer_open_id, buyerId: n.buyer_id, logonId: n.buyer_logon_id }),
      }),
      ...(n.buyer_pay_amount !== undefined && { said: { payerAmount: n.buyer_pay_amount } }),
    },
  };
}

/** Alipay stops retrying only on HTTP 200 with the exact body `success`; anything else is retried. */
export function alipayAck(accepted: boolean): NotifyAck {
  return accepted ? { status: 200, contentType: 'text/plain', body: 'success' } : { status: 500, contentType: 'text/plain', body: 'fail' };
}
