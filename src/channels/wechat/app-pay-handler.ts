import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { PrepayPayload, TradeSnapshot, WechatAccount } from '../types';
import type { WechatReply, WechatRequestConfig } from './client';
import { appPayParams } from './signing';
import { parse, WechatHandler } from './wechat-handler';
import { type PrepayBody, prepayIdResponse } from './wire';

/**
 * WECHAT_APP: POST /v3/pay/transactions/app → prepay_id, handed to the OpenSDK as a signed PayReq:
 * `{appid, partnerid, prepayid, package: 'Sign=WXPay', noncestr, timestamp, sign}`.
 */
export class WechatAppPayHandler extends WechatHandler {
  readonly payWay = 'WECHAT_APP' as const;
  readonly supportsQr = false;
  protected readonly terminal = 'app' as const;

  protected sendPrepay(wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig): Promise<WechatReply> {
    return wx.v3.pay.transactions.app.post(body, config);
  }

  protected toPayload(data: unknown, _trade: TradeSnapshot, account: WechatAccount): PrepayPayload {
    const { prepay_id: prepayId } = parse(prepayIdResponse, data, 'prepay_id');
    const unsigned = {
      appId: account.appId,
      mchId: account.mchId,
      prepayId,
      timestamp: this.timestamp(),
      nonce: this.nonce(),
    };
    return { kind: 'signParams', value: appPayParams(unsigned, this.api.merchantKey(account)) };
  }
}
