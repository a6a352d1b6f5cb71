import type { PrepayStrategy } from '../channel-module';
import type { PrepayResult, TradeSnapshot } from '../types';
import type { AlipayAccount } from './account';
import { type AlipayClients, callAlipay, commonParams } from './client';
import { alipaySaid, createErrorOutcome, describeError, notifyUrl, payBizContent, tradeProblem } from './transformers';
import { precreateAnswer } from './wire';

const PRECREATE = 'alipay.trade.precreate';
/** A pay way whose request is signed here and submitted by the buyer's app or browser: nothing was sent yet. */
const SIGNED_LOCALLY = (method: string) => ({ endpoint: method, message: 'signed here for the buyer to submit; no call made' });

type Start = (trade: TradeSnapshot, account: AlipayAccount, signal?: AbortSignal) => Promise<PrepayResult>;

/** A trade Alipay would refuse is refused here, before anything is sent: nothing exists at the channel. */
function checkedFirst(start: Start): PrepayStrategy<AlipayAccount> {
  return {
    prepay: async (trade, account, signal) => {
      const problem = tradeProblem(trade);
      if (problem) return { outcome: 'fail', reason: problem };
      return start(trade, account, signal);
    },
  };
}

/**
 * ALIPAY_APP (alipay.trade.app.pay): no HTTP call. The signed order string goes to the mobile app, whose Alipay
 * SDK submits it; the trade exists at Alipay only from then on.
 */
export function appPay(clients: AlipayClients): PrepayStrategy<AlipayAccount> {
  return checkedFirst(async (trade, account) => {
    const params = { bizContent: payBizContent(trade, 'app'), ...commonParams({ notify_url: notifyUrl(account, trade.tenantId, 'app') }) };
    const value = clients.get(account).sdkExecute('alipay.trade.app.pay', params, { bizContentAutoSnakeCase: false });
    return { outcome: 'success', payload: { kind: 'appOrderString', value }, said: SIGNED_LOCALLY('alipay.trade.app.pay') };
  });
}

/**
 * The browser pay ways: no HTTP call at prepay. The signed gateway.do GET URL is where the buyer's browser is
 * sent; Alipay creates the trade when the cashier opens and returns the buyer to return_url (never proof of
 * payment). ALIPAY_WAP (alipay.trade.wap.pay, QUICK_WAP_WAY): mobile browsers; quit_url is the return URL.
 * ALIPAY_PAGE (alipay.trade.page.pay, FAST_INSTANT_TRADE_PAY): desktop browsers.
 */
export function redirectPay(clients: AlipayClients, terminal: 'wap' | 'page'): PrepayStrategy<AlipayAccount> {
  const method = terminal === 'wap' ? 'alipay.trade.wap.pay' : 'alipay.trade.page.pay';
  return checkedFirst(async (trade, account) => {
    const common = commonParams({ notify_url: notifyUrl(account, trade.tenantId, terminal), return_url: trade.returnUrl });
    const bizContent = payBizContent(trade, terminal);
    const value = clients.get(account).pageExecute(method, 'GET', { bizContent, ...common });
    return { outcome: 'success', payload: { kind: 'redirectUrl', value }, said: SIGNED_LOCALLY(method) };
  });
}

/**
 * ALIPAY_QR (alipay.trade.precreate): the one pay way that calls Alipay at prepay. The qr_code URL is what the
 * buyer scans; until then the trade does not exist at Alipay (query and close say ACQ.TRADE_NOT_EXIST).
 */
export function qrPay(clients: AlipayClients): PrepayStrategy<AlipayAccount> {
  return checkedFirst(async (trade, account, signal) => {
    const extra = { notify_url: notifyUrl(account, trade.tenantId, 'qr') };
    const r = await callAlipay(clients.get(account), PRECREATE, payBizContent(trade, 'qr'), precreateAnswer, signal, extra);
    if (!r.ok) return { outcome: createErrorOutcome(r.error), reason: describeError(r.error), said: alipaySaid(PRECREATE, r.error) };
    const said = alipaySaid(PRECREATE);
    if (r.data.out_trade_no !== trade.attemptNo) {
      return { outcome: 'unknown', reason: `precreate answered for out_trade_no ${r.data.out_trade_no}`, said };
    }
    return { outcome: 'success', payload: { kind: 'qrCodeUrl', value: r.data.qr_code }, said };
  });
}
