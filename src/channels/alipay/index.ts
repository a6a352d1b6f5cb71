import type { AlipayHandler, AlipayHandlerOptions } from './alipay-handler';
import { AlipayAppPayHandler } from './app-pay';
import { AlipayClients } from './client';
import { AlipayPagePayHandler, AlipayWapPayHandler } from './page-redirect';
import { AlipayQrPayHandler } from './qr-pay';

export { AlipayHandler, type AlipayHandlerOptions } from './alipay-handler';
export { AlipayAppPayHandler } from './app-pay';
export { AlipayPagePayHandler, AlipayRedirectPayHandler, AlipayWapPayHandler } from './page-redirect';
export { AlipayQrPayHandler } from './qr-pay';
export { AlipayClients } from './client';
export { fenToYuan, yuanToFen } from './amount';

/** The four Alipay pay ways for the channel registry, sharing one SDK client cache. */
export function alipayHandlers(opts: { timeoutMs: number }): AlipayHandler[] {
  const shared: AlipayHandlerOptions = { timeoutMs: opts.timeoutMs, clients: new AlipayClients(opts.timeoutMs) };
  return [
    new AlipayAppPayHandler(shared),
    new AlipayWapPayHandler(shared),
    new AlipayPagePayHandler(shared),
    new AlipayQrPayHandler(shared),
  ];
}
