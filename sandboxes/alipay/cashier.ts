import express, { type ErrorRequestHandler, type Router } from 'express';
import { fenToYuan } from '../../src/channels/alipay/amount';
import { escapeHtml, htmlPage } from '../kit/html';
import { AlipayRejection } from './rejection';
import type { SandboxTrade, SandboxTradeStatus } from './trade-book';

/** What the buyer's side of the sandbox needs from the gateway. */
export interface BuyerActions {
  status(trade: SandboxTrade): SandboxTradeStatus;
  scan(outTradeNo: string): SandboxTrade;
  pay(outTradeNo: string): SandboxTrade;
  /** The app's Alipay SDK submits the order string, the buyer pays; returns the trade. */
  payOrderString(orderString: string): SandboxTrade;
  /** return_url with the signed sync params, or undefined when the order had none. */
  returnLocation(trade: SandboxTrade): string | undefined;
}

/**
 * The buyer's side: the QR code URL (scanning opens the cashier), the cashier's Pay button, and test hooks
 * (not part of the protocol) for what a phone would do: scan, pay, submit an app order string.
 */
export function buyerRouter(buyer: BuyerActions): Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(express.text({ type: 'text/plain', limit: '64kb' }));

  router.get('/qr/:outTradeNo', (req, res) => {
    const trade = buyer.scan(req.params.outTradeNo);
    res.type('html').send(cashierPage(trade, buyer.status(trade)));
  });

  router.post('/cashier/:outTradeNo/pay', (req, res) => {
    const trade = buyer.pay(req.params.outTradeNo);
    const location = buyer.returnLocation(trade);
    if (location) return res.redirect(302, location);
    res.type('html').send(cashierPage(trade, buyer.status(trade)));
  });

  const hook = (act: (outTradeNo: string) => SandboxTrade) => (req: express.Request, res: express.Response) => {
    const outTradeNo = req.query.out_trade_no;
    const trade = act(typeof outTradeNo === 'string' ? outTradeNo : '');
    res.json({ out_trade_no: trade.outTradeNo, trade_no: trade.tradeNo, trade_status: buyer.status(trade) });
  };
  router.post(
    '/__test__/scan',
    hook((outTradeNo) => buyer.scan(outTradeNo)),
  );
  router.post(
    '/__test__/pay',
    hook((outTradeNo) => buyer.pay(outTradeNo)),
  );
  router.post('/__test__/app-pay', (req, res) => {
    const trade = buyer.payOrderString(typeof req.body === 'string' ? req.body.trim() : '');
    res.json({ out_trade_no: trade.outTradeNo, trade_no: trade.tradeNo, trade_status: buyer.status(trade) });
  });

  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!(err instanceof AlipayRejection)) return next(err);
    res.status(400).type('html').send(errorPage(err));
  };
  router.use(onError);
  return router;
}

/** The cashier: the order, its status, and a Pay button while it can be paid. */
export function cashierPage(trade: SandboxTrade, status: SandboxTradeStatus): string {
  const action = `/cashier/${encodeURIComponent(trade.outTradeNo)}/pay`;
  const pay = status === 'WAIT_BUYER_PAY' ? `<form method="post" action="${action}"><button type="submit">Pay</button></form>` : '';
  return htmlPage(
    'Alipay sandbox cashier',
    `<h1>${escapeHtml(trade.subject)}</h1><p>Order ${escapeHtml(trade.outTradeNo)}: <strong>¥${fenToYuan(trade.amount)}</strong></p>` +
      `<p>Status: ${status}</p>${pay}`,
  );
}

export function errorPage(err: AlipayRejection): string {
  return htmlPage('Alipay sandbox: error', `<h1>${escapeHtml(err.code)} ${escapeHtml(err.subCode)}</h1><p>${escapeHtml(err.subMsg)}</p>`);
}
