import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { PrepayPayload, TradeSnapshot } from '../types';
import type { WechatReply, WechatRequestConfig } from './client';
import { parse, WechatHandler } from './wechat-handler';
import { h5UrlResponse, type PrepayBody } from './wire';

/**
 * WECHAT_H5 (mobile browser outside WeChat): POST /v3/pay/transactions/h5 with scene_info (the payer's IP,
 * h5_info.type 'Wap') → h5_url; the buyer is redirected there, with `&redirect_url=<urlencoded returnUrl>`
 * appended when the trade has a return URL.
 */
export class WechatH5PayHandler extends WechatHandler {
  readonly payWay = 'WECHAT_H5' as const;
  readonly supportsQr = false;
  override readonly requiredInputs = ['clientIp'] as const;
  protected readonly terminal = 'h5' as const;

  protected sendPrepay(wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig): Promise<WechatReply> {
    return wx.v3.pay.transactions.h5.post(body, config);
  }

  protected toPayload(data: unknown, trade: TradeSnapshot): PrepayPayload {
    const { h5_url: h5Url } = parse(h5UrlResponse, data, 'h5_url');
    if (trade.returnUrl === '') return { kind: 'redirectUrl', value: h5Url };
    const separator = h5Url.includes('?') ? '&' : '?';
    return { kind: 'redirectUrl', value: `${h5Url}${separator}redirect_url=${encodeURIComponent(trade.returnUrl)}` };
  }
}
