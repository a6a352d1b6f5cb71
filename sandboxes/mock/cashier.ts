import express, { type ErrorRequestHandler, type Router } from 'express';
import { GatewayRejection, type MockTrade, type TradeBook } from './trade-book';

/**
 * The mock channel's cashier: GET shows the trade with a "Pay" button, POST pays it (browsers get HTML,
 * scripts and tests get the trade as JSON). No signature here; it stands in for the payer's browser.
 */
export function cashierRouter(book: TradeBook, pay: (outTradeNo: string) => MockTrade): Router {
  const router = express.Router();

  router.get('/:outTradeNo', (req, res) => {
    const trade = book.trade(req.params.outTradeNo);
    const status = book.status(trade);
    const action = status === 'NOTPAY' ? '<form method="post"><button type="submit">Pay</button></form>' : '';
    res.type('html').send(page(trade, `<p>Status: ${status}</p>${action}`));
  });

  router.post('/:outTradeNo', (req, res) => {
    const trade = pay(req.params.outTradeNo);
    res.format({
      json: () => res.json(book.tradeJson(trade)),
      html: () => res.send(page(trade, '<p>Payment succeeded.</p>')),
    });
  });

  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!(err instanceof GatewayRejection)) return next(err);
    res.status(err.httpStatus).json({ code: err.code, message: err.message });
  };
  router.use(onError);
  return router;
}

function page(trade: MockTrade, content: string): string {
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>Mock cashier</title></head><body>',
    `<h1>${escapeHtml(trade.subject)}</h1>`,
    `<p>Order ${escapeHtml(trade.outTradeNo)}:`,
    `<strong>${formatMinorUnits(trade.amount)} ${escapeHtml(trade.currency)}</strong></p>`,
    content,
    '</body></html>',
  ].join('\n');
}

/** 1234n → "12.34"; the mock channel only deals in two-decimal currencies. */
function formatMinorUnits(amount: bigint): string {
  return `${amount / 100n}.${(amount % 100n).toString().padStart(2, '0')}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
