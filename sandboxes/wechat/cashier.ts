import express, { type Request, type Router } from 'express';
import { escapeHtml, formatMinorUnits, htmlPage } from '../kit/html';
import { rejectionAsJson, SandboxRejection } from '../kit/http';
import type { SandboxTrade, TradeBook } from './trade-book';

/**
 * Stand-ins for the buyer's side: the Native code_url (/wxpay/bizpayurl?pr=…) and the H5 h5_url
 * (/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…) open a cashier page; POSTing to the same URL pays.
 * Browsers get HTML, scripts and tests get the Transaction JSON. No signature here.
 */
export function cashierRouter(book: TradeBook, pay: (trade: SandboxTrade) => SandboxTrade): Router {
  const router = express.Router();

  const nativeTrade = (req: Request) => tradeByToken(book, req.query.pr);
  const h5Trade = (req: Request) => {
    const trade = tradeByToken(book, req.query.package);
    if (trade.prepayId !== req.query.prepay_id) throw new SandboxRejection(404, 'NOT_FOUND', 'no such payment');
    return trade;
  };

  const pages = [
    ['/wxpay/bizpayurl', nativeTrade],
    ['/cgi-bin/mmpayweb-bin/checkmweb', h5Trade],
  ] as const;
  for (const [path, find] of pages) {
    router.get(path, (req, res) => {
      const trade = find(req);
      const state = book.state(trade);
      const action = state === 'NOTPAY' ? '<form method="post"><button type="submit">确认支付 Pay</button></form>' : '';
      res.type('html').send(page(trade, `<p>Status: ${state}</p>${action}`));
    });
    router.post(path, (req, res) => {
      const trade = pay(find(req));
      const back = req.query.redirect_url;
      const linkable = typeof back === 'string' && /^https?:\/\//.test(back);
      const link = linkable ? `<p><a href="${escapeHtml(back)}">Back to the merchant</a></p>` : '';
      res.format({
        json: () => res.json(book.transactionJson(trade)),
        html: () => {
          const outcome = book.state(trade) === 'PAYERROR' ? '支付失败 Payment declined.' : '支付成功 Payment succeeded.';
          res.send(page(trade, `<p>${outcome}</p>${link}`));
        },
      });
    });
  }

  router.use(rejectionAsJson);
  return router;
}

function tradeByToken(book: TradeBook, token: unknown): SandboxTrade {
  const trade = typeof token === 'string' ? book.byPayToken(token) : undefined;
  if (!trade) throw new SandboxRejection(404, 'NOT_FOUND', 'no such payment');
  return trade;
}

function page(trade: SandboxTrade, content: string): string {
  return htmlPage(
    'WeChat Pay sandbox',
    `<h1>${escapeHtml(trade.description)}</h1>` +
      `<p>Order ${escapeHtml(trade.outTradeNo)} (${trade.tradeType}, merchant ${escapeHtml(trade.mchId)}): ` +
      `<strong>¥${formatMinorUnits(trade.total)}</strong></p>` +
      content,
  );
}
