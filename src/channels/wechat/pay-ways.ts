import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { PrepayStrategy } from '../channel-module';
import type { PrepayPayload, TradeSnapshot } from '../types';
import type { WechatAccount } from './account';
import { errorOf, wechatSaid, type WechatApi, type WechatReply, type WechatRequestConfig } from './client';
import { parse } from './adapter';
import { appPayParams, jsapiPayParams, randomNonce } from './signing';
import { buildPrepayRequest, errorVerdict, type TerminalType } from './transformers';
import { codeUrlResponse, h5UrlResponse, type PrepayBody, prepayIdResponse } from './wire';

type Send = (wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig) => Promise<WechatReply>;
/** The buyer's client payload from a 200 prepay answer; throws (→ unknown) when the answer is malformed. */
type ToPayload = (data: unknown, trade: TradeSnapshot, account: WechatAccount) => PrepayPayload;

/** POST the pay way's prepay body to its endpoint; a 200 becomes its payload, an error is fail or unknown by its code. */
function prepayVia(api: WechatApi, terminal: TerminalType, send: Send, toPayload: ToPayload): PrepayStrategy<WechatAccount> {
  return {
    prepay: async (trade, account, signal) => {
      const built = buildPrepayRequest(trade, account, terminal);
      if (!built.ok) return { outcome: 'fail', reason: built.reason };
      const reply = await api.call(account, signal, (wx, cfg) => send(wx, built.body, cfg));
      const said = wechatSaid(`POST /v3/pay/transactions/${terminal}`, reply);
      if (reply.status === 200) return { outcome: 'success', payload: toPayload(reply.data, trade, account), said };
      const { code, reason } = errorOf(reply);
      return { outcome: errorVerdict('prepay', reply.status, code) === 'fail' ? 'fail' : 'unknown', reason, said };
    },
  };
}

const timestamp = (): string => String(Math.floor(Date.now() / 1000));

/**
 * WECHAT_APP: POST /v3/pay/transactions/app → prepay_id, handed to the OpenSDK as a signed PayReq:
 * `{appid, partnerid, prepayid, package: 'Sign=WXPay', noncestr, timestamp, sign}`.
 */
export const appPay = (api: WechatApi): PrepayStrategy<WechatAccount> =>
  prepayVia(
    api,
    'app',
    (wx, body, config) => wx.v3.pay.transactions.app.post(body, config),
    (data, _trade, account) => {
      const { prepay_id: prepayId } = parse(prepayIdResponse, data, 'prepay_id');
      const unsigned = { appId: account.appId, mchId: account.mchId, prepayId, timestamp: timestamp(), nonce: randomNonce() };
      return { kind: 'signParams', value: appPayParams(unsigned, api.merchantKey(account)) };
    },
  );

/**
 * WECHAT_JSAPI (official account / mini program): POST /v3/pay/transactions/jsapi with payer.openid (the
 * trade's payerId; without it the prepay fails) → prepay_id, handed to the page as signed
 * `{appId, timeStamp, nonceStr, package: 'prepay_id=…', signType: 'RSA', paySign}`.
 */
export const jsapiPay = (api: WechatApi): PrepayStrategy<WechatAccount> =>
  prepayVia(
    api,
    'jsapi',
    (wx, body, config) => wx.v3.pay.transactions.jsapi.post(body, config),
    (data, _trade, account) => {
      const { prepay_id: prepayId } = parse(prepayIdResponse, data, 'prepay_id');
      const unsigned = { appId: account.appId, prepayId, timestamp: timestamp(), nonce: randomNonce() };
      return { kind: 'signParams', value: jsapiPayParams(unsigned, api.merchantKey(account)) };
    },
  );

/** WECHAT_NATIVE: POST /v3/pay/transactions/native → code_url, which the caller renders as a QR code. */
export const nativePay = (api: WechatApi): PrepayStrategy<WechatAccount> =>
  prepayVia(
    api,
    'native',
    (wx, body, config) => wx.v3.pay.transactions.native.post(body, config),
    (data) => ({ kind: 'qrCodeUrl', value: parse(codeUrlResponse, data, 'code_url').code_url }),
  );

/**
 * WECHAT_H5 (mobile browser outside WeChat): POST /v3/pay/transactions/h5 with scene_info (the payer's IP,
 * h5_info.type 'Wap') → h5_url; the buyer is redirected there, with `&redirect_url=<urlencoded returnUrl>`
 * appended when the trade has a return URL.
 */
export const h5Pay = (api: WechatApi): PrepayStrategy<WechatAccount> =>
  prepayVia(
    api,
    'h5',
    (wx, body, config) => wx.v3.pay.transactions.h5.post(body, config),
    (data, trade) => {
      const { h5_url: h5Url } = parse(h5UrlResponse, data, 'h5_url');
      if (trade.returnUrl === '') return { kind: 'redirectUrl', value: h5Url };
      const separator = h5Url.includes('?') ? '&' : '?';
      return { kind: 'redirectUrl', value: `${h5Url}${separator}redirect_url=${encodeURIComponent(trade.returnUrl)}` };
    },
  );
