import type { AlipayAccount, PrepayResult, TradeSnapshot } from '../types';
import { AlipayHandler } from './alipay-handler';
import { commonParams } from './client';
import { notifyUrl, payBizContent } from './transformers';

/**
 * ALIPAY_APP (alipay.trade.app.pay): no HTTP call. The signed order string goes to the mobile app, whose Alipay
 * SDK submits it; the trade exists at Alipay only from then on.
 */
export class AlipayAppPayHandler extends AlipayHandler {
  readonly payWay = 'ALIPAY_APP' as const;
  readonly supportsQr = false;
  protected readonly terminalType = 'app' as const;

  protected async startPayment(trade: TradeSnapshot, account: AlipayAccount): Promise<PrepayResult> {
    const params = { bizContent: payBizContent(trade, 'app'), ...commonParams({ notify_url: notifyUrl(account, trade.tenantId, 'app') }) };
    const value = this.sdk(account).sdkExecute('alipay.trade.app.pay', params, { bizContentAutoSnakeCase: false });
    return { outcome: 'success', payload: { kind: 'appOrderString', value } };
  }
}
