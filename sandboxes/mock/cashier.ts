import express, { type Router } from 'express';
import { escapeHtml, formatMinorUnits, htmlPage } from '../kit/html';
import { rejectionAsJson } from '../kit/http';
import type { MockTrade, TradeBook } from './trade-book';

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

  router.use(rejectionAsJson);
  return router;
}

function page(trade: MockTrade, content: string): string {
  return htmlPage(
    'Mock cashier',
    `<h1>${escapeHtml(trade.subject)}</h1>` +
      `<p>Order ${escapeHtml(trade.outTradeNo)}: <strong>${formatMinorUnits(trade.amount)} ${escapeHtml(trade.currency)}</strong></p>` +
      content,
  );
}
