import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { PrepayPayload, TradeSnapshot, WechatAccount } from '../types';
import type { WechatReply, WechatRequestConfig } from './client';
import { jsapiPayParams } from './signing';
import { parse, WechatHandler } from './wechat-handler';
import { type PrepayBody, prepayIdResponse } from './wire';

/**
 * WECHAT_JSAPI (official account / mini program): POST /v3/pay/transactions/jsapi with payer.openid (the
 * trade's payerId; without it the prepay fails) → prepay_id, handed to the page as signed
 * `{appId, timeStamp, nonceStr, package: 'prepay_id=…', signType: 'RSA', paySign}`.
 */
export class WechatJsApiPayHandler extends WechatHandler {
  readonly payWay = 'WECHAT_JSAPI' as const;
  readonly supportsQr = false;
  override readonly requiredInputs = ['payerId'] as const;
  protected readonly terminal = 'jsapi' as const;

  protected sendPrepay(wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig): Promise<WechatReply> {
    return wx.v3.pay.transactions.jsapi.post(body, config);
  }

  protected toPayload(data: unknown, _trade: TradeSnapshot, account: WechatAccount): PrepayPayload {
    const { prepay_id: prepayId } = parse(prepayIdResponse, data, 'prepay_id');
    const unsigned = { appId: account.appId, prepayId, timestamp: this.timestamp(), nonce: this.nonce() };
    return { kind: 'signParams', value: jsapiPayParams(unsigned, this.api.merchantKey(account)) };
  }
}
