import { WechatAppPayHandler } from './app-pay-handler';
import { WechatH5PayHandler } from './h5-pay-handler';
import { WechatJsApiPayHandler } from './jsapi-pay-handler';
import { WechatNativePayHandler } from './native-pay-handler';
import type { WechatHandler, WechatHandlerOptions } from './wechat-handler';

export { WechatAppPayHandler } from './app-pay-handler';
export { WechatH5PayHandler } from './h5-pay-handler';
export { WechatJsApiPayHandler } from './jsapi-pay-handler';
export { WechatNativePayHandler } from './native-pay-handler';
export { WechatHandler, type WechatHandlerOptions } from './wechat-handler';
export { WechatClients } from './client';

/** The four WeChat Pay v3 handlers, for the channel registry. They share one client cache. */
export function wechatHandlers(opts: WechatHandlerOptions): WechatHandler[] {
  return [
    new WechatAppPayHandler(opts),
    new WechatJsApiPayHandler(opts),
    new WechatNativePayHandler(opts),
    new WechatH5PayHandler(opts),
  ];
}
