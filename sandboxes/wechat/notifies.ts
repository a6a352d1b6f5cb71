import { randomUUID } from 'node:crypto';
import { encryptResource, randomNonce } from '../../src/channels/wechat/signing';
import { beijingTime } from '../../src/channels/wechat/transformers';
import type { SandboxRefund, SandboxTrade } from './trade-book';

/**
 * Notify bodies as WeChat Pay sends them: an event envelope whose `resource` is the Transaction or Refund
 * JSON encrypted with the merchant's APIv3key (AEAD_AES_256_GCM, 12-character nonce, AAD = original type).
 * The body is built once per event, so every retry carries the same id and bytes.
 */
export function paymentEventBody(transactionJson: object, apiV3Key: string): string {
  return envelope('TRANSACTION.SUCCESS', '支付成功', 'transaction', transactionJson, apiV3Key);
}

export type RefundEventStatus = 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export function refundEventBody(refund: SandboxRefund, trade: SandboxTrade, status: RefundEventStatus, apiV3Key: string): string {
  const total = Number(trade.total);
  const amount = Number(refund.amount);
  const resource = {
    mchid: refund.mchId,
    out_trade_no: refund.outTradeNo,
    transaction_id: trade.transactionId,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    refund_status: status,
    ...(refund.successAt && { success_time: beijingTime(refund.successAt) }),
    user_received_account: '支付用户零钱',
    amount: { total, refund: amount, payer_total: total, payer_refund: amount },
  };
  return envelope(`REFUND.${status}`, SUMMARIES[status], 'refund', resource, apiV3Key);
}

const SUMMARIES: Readonly<Record<RefundEventStatus, string>> = {
  SUCCESS: '退款成功',
  CLOSED: '退款关闭',
  ABNORMAL: '退款异常',
};

function envelope(eventType: string, summary: string, originalType: string, resource: object, apiV3Key: string): string {
  const nonce = randomNonce(12);
  return JSON.stringify({
    id: randomUUID(),
    create_time: beijingTime(new Date()),
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary,
    resource: {
      original_type: originalType,
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: encryptResource(JSON.stringify(resource), apiV3Key, nonce, originalType),
      associated_data: originalType,
      nonce,
    },
  });
}
