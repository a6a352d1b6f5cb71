import type { AlipayAccount, PrepayResult, TradeSnapshot } from '../types';
import { AlipayHandler } from './alipay-handler';
import { callAlipay } from './client';
import { createErrorOutcome, describeError, notifyUrl, payBizContent } from './transformers';
import { precreateAnswer } from './wire';

/**
 * ALIPAY_QR (alipay.trade.precreate): the one pay way that calls Alipay at prepay. The qr_code URL is what the
 * buyer scans; until then the trade does not exist at Alipay (query and close say ACQ.TRADE_NOT_EXIST).
 */
export class AlipayQrPayHandler extends AlipayHandler {
  readonly payWay = 'ALIPAY_QR' as const;
  readonly supportsQr = true;
  protected readonly terminalType = 'qr' as const;

  protected async startPayment(trade: TradeSnapshot, account: AlipayAccount, signal?: AbortSignal): Promise<PrepayResult> {
    const extra = { notify_url: notifyUrl(account, trade.tenantId, 'qr') };
    const r = await callAlipay(this.sdk(account), 'alipay.trade.precreate', payBizContent(trade, 'qr'), precreateAnswer, signal, extra);
    if (!r.ok) return { outcome: createErrorOutcome(r.error), reason: describeError(r.error) };
    if (r.data.out_trade_no !== trade.attemptNo) {
      return { outcome: 'unknown', reason: `precreate answered for out_trade_no ${r.data.out_trade_no}` };
    }
    return { outcome: 'success', payload: { kind: 'qrCodeUrl', value: r.data.qr_code } };
  }
}
