import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { PrepayPayload } from '../types';
import type { WechatReply, WechatRequestConfig } from './client';
import { parse, WechatHandler } from './wechat-handler';
import { codeUrlResponse, type PrepayBody } from './wire';

/** WECHAT_NATIVE: POST /v3/pay/transactions/native → code_url, which the caller renders as a QR code. */
export class WechatNativePayHandler extends WechatHandler {
  readonly payWay = 'WECHAT_NATIVE' as const;
  readonly supportsQr = true;
  protected readonly terminal = 'native' as const;

  protected sendPrepay(wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig): Promise<WechatReply> {
    return wx.v3.pay.transactions.native.post(body, config);
  }

  protected toPayload(data: unknown): PrepayPayload {
    return { kind: 'qrCodeUrl', value: parse(codeUrlResponse, data, 'code_url').code_url };
  }
}
