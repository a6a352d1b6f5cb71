import type { AlipayAccount, PrepayResult, TradeSnapshot } from '../types';
import { AlipayHandler } from './alipay-handler';
import { commonParams } from './client';
import { notifyUrl, payBizContent } from './transformers';

/**
 * The browser pay ways: no HTTP call at prepay. The signed gateway.do GET URL is where the buyer's browser is
 * sent; Alipay creates the trade when the cashier opens and returns the buyer to return_url (never proof of payment).
 */
export abstract class AlipayRedirectPayHandler extends AlipayHandler {
  protected abstract override readonly terminalType: 'wap' | 'page';
  protected abstract readonly method: 'alipay.trade.wap.pay' | 'alipay.trade.page.pay';
  readonly supportsQr = false;

  protected async startPayment(trade: TradeSnapshot, account: AlipayAccount): Promise<PrepayResult> {
    const common = commonParams({
      notify_url: notifyUrl(account, trade.tenantId, this.terminalType),
      return_url: trade.returnUrl,
    });
    const bizContent = payBizContent(trade, this.terminalType);
    const value = this.sdk(account).pageExecute(this.method, 'GET', { bizContent, ...common });
    return { outcome: 'success', payload: { kind: 'redirectUrl', value } };
  }
}

/** ALIPAY_WAP (alipay.trade.wap.pay, QUICK_WAP_WAY): mobile browsers; quit_url is the return URL. */
export class AlipayWapPayHandler extends AlipayRedirectPayHandler {
  readonly payWay = 'ALIPAY_WAP' as const;
  protected readonly terminalType = 'wap' as const;
  protected readonly method = 'alipay.trade.wap.pay' as const;
}

/** ALIPAY_PAGE (alipay.trade.page.pay, FAST_INSTANT_TRADE_PAY): desktop browsers. */
export class AlipayPagePayHandler extends AlipayRedirectPayHandler {
  readonly payWay = 'ALIPAY_PAGE' as const;
  protected readonly terminalType = 'page' as const;
  protected readonly method = 'alipay.trade.page.pay' as const;
}
