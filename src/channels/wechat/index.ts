import { PayWay } from '../../gen/payment/v1/types';
import { defineChannel, type ChannelDeps } from '../channel-module';
import { PayWayHandler, buildChannel } from '../guarded-channel';
import { type WechatAccount, wechatAccountSchema } from './account';
import { WechatAdapter } from './adapter';
import { sharedWechatClients, WechatApi, type WechatClients } from './client';
import { NOTIFY_HEADERS } from './notify';
import { WechatStatements } from './statement-download';
import { appPay, h5Pay, jsapiPay, nativePay } from './pay-ways';

export { type WechatAccount, wechatAccountSchema } from './account';
export { WechatAdapter } from './adapter';
export { WechatClients } from './client';
export { WechatStatements } from './statement-download';

const payWay = { defaultFeeRateBps: 60, supportsRefund: true } as const;

/** WeChat Pay API v3 (direct merchant, public-key mode): four pay ways over one adapter and one client cache. */
export const wechatChannel = defineChannel<WechatAccount>({
  name: 'wechat',
  notify: {
    pathSegment: 'wx',
    contentType: 'application/json',
    // An event is about 1 KB.
    maxBodyBytes: 32 * 1024,
    keptHeaders: /^wechatpay-.*$/i,
    signatureHeaders: [...Object.values(NOTIFY_HEADERS), 'wechatpay-signature-type'],
  },
  account: {
    schema: wechatAccountSchema,
    secretFields: ['merchantPrivateKey', 'apiV3Key'],
    identity: (a) => ({ appId: a.appId, merchantId: a.mchId }),
  },
  /** A Transaction names app, merchant and trade; a refund resource names merchant and trade (it has no appid). */
  carriedIdentity: {
    paymentNotify: ['outTradeNo', 'appId', 'merchantId'],
    refundNotify: ['outTradeNo', 'merchantId'],
    query: ['outTradeNo', 'appId', 'merchantId'],
  },
  payWays: [
    {
      code: 'WECHAT_APP',
      name: 'WeChat Pay App',
      protoNumber: PayWay.PAY_WAY_WECHAT_APP,
      supportsQr: false,
      requiredInputs: [],
      ...payWay,
    },
    {
      code: 'WECHAT_JSAPI',
      name: 'WeChat Pay JSAPI (official account / mini program)',
      protoNumber: PayWay.PAY_WAY_WECHAT_JSAPI,
      supportsQr: false,
      requiredInputs: ['payerId'],
      ...payWay,
    },
    {
      code: 'WECHAT_NATIVE',
      name: 'WeChat Pay Native (QR code)',
      protoNumber: PayWay.PAY_WAY_WECHAT_NATIVE,
      supportsQr: true,
      requiredInputs: [],
      ...payWay,
    },
    {
      code: 'WECHAT_H5',
      name: 'WeChat Pay H5',
      protoNumber: PayWay.PAY_WAY_WECHAT_H5,
      supportsQr: false,
      requiredInputs: ['clientIp'],
      ...payWay,
    },
  ],
  create: ({ timeoutMs }: ChannelDeps) => wechatParts(timeoutMs),
});

function wechatParts(timeoutMs: number, clients: WechatClients = sharedWechatClients) {
  const api = new WechatApi(timeoutMs, clients);
  return {
    adapter: new WechatAdapter(api),
    statements: new WechatStatements(api, new WechatApi(timeoutMs * 10, clients)),
    prepay: { WECHAT_APP: appPay(api), WECHAT_JSAPI: jsapiPay(api), WECHAT_NATIVE: nativePay(api), WECHAT_H5: h5Pay(api) },
  };
}

/** The four WeChat Pay pay ways, guarded, in catalog order (for tests that talk to the channel directly). */
export function wechatHandlers(opts: ChannelDeps): PayWayHandler[] {
  return buildChannel(wechatChannel, opts).handlers;
}
