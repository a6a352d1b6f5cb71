import { PayWay } from '../../gen/payment/v1/types';
import { defineChannel, type ChannelDeps } from '../channel-module';
import { PayWayHandler, buildChannel } from '../guarded-channel';
import { type AlipayAccount, alipayAccountSchema } from './account';
import { AlipayAdapter } from './adapter';
import { AlipayClients } from './client';
import { AlipayStatements } from './statement-download';
import { appPay, qrPay, redirectPay } from './pay-ways';

export { type AlipayAccount, alipayAccountSchema } from './account';
export { AlipayAdapter } from './adapter';
export { AlipayClients } from './client';
export { AlipayStatements } from './statement-download';
export { fenToYuan, yuanToFen } from './amount';

const payWay = { defaultFeeRateBps: 60, requiredInputs: [], supportsRefund: true } as const;

/** Alipay, classic gateway (RSA2, public-key mode): four pay ways over one adapter and one SDK client cache. */
export const alipayChannel = defineChannel<AlipayAccount>({
  name: 'alipay',
  notify: {
    pathSegment: 'alipay',
    contentType: 'application/x-www-form-urlencoded',
    // A notify with fund and voucher lists is a few KB.
    maxBodyBytes: 32 * 1024,
    // Alipay signs inside the form body; there are no signature headers (a repeated form field is refused by
    // parseNotifyBody).
    keptHeaders: /^$/,
    signatureHeaders: [],
  },
  account: {
    schema: alipayAccountSchema,
    secretFields: ['appPrivateKey'],
    identity: (a) => ({ appId: a.appId, merchantId: a.sellerId }),
  },
  /** Notifies name app, seller and trade; trade.query answers (to our own signed request) only the trade. */
  carriedIdentity: {
    paymentNotify: ['outTradeNo', 'appId', 'merchantId'],
    refundNotify: ['outTradeNo', 'appId', 'merchantId'],
    query: ['outTradeNo'],
  },
  payWays: [
    { code: 'ALIPAY_APP', name: 'Alipay App', protoNumber: PayWay.PAY_WAY_ALIPAY_APP, supportsQr: false, ...payWay },
    { code: 'ALIPAY_WAP', name: 'Alipay mobile web (H5)', protoNumber: PayWay.PAY_WAY_ALIPAY_WAP, supportsQr: false, ...payWay },
    { code: 'ALIPAY_PAGE', name: 'Alipay PC web', protoNumber: PayWay.PAY_WAY_ALIPAY_PAGE, supportsQr: false, ...payWay },
    { code: 'ALIPAY_QR', name: 'Alipay QR code (precreate)', protoNumber: PayWay.PAY_WAY_ALIPAY_QR, supportsQr: true, ...payWay },
  ],
  create({ timeoutMs }: ChannelDeps) {
    const clients = new AlipayClients(timeoutMs);
    return {
      adapter: new AlipayAdapter(clients),
      statements: new AlipayStatements(clients),
      prepay: {
        ALIPAY_APP: appPay(clients),
        ALIPAY_WAP: redirectPay(clients, 'wap'),
        ALIPAY_PAGE: redirectPay(clients, 'page'),
        ALIPAY_QR: qrPay(clients),
      },
    };
  },
});

/** The four Alipay pay ways, guarded, in catalog order (for tests that talk to the channel directly). */
export function alipayHandlers(opts: ChannelDeps): PayWayHandler[] {
  return buildChannel(alipayChannel, opts).handlers;
}
