import express, { type ErrorRequestHandler, type Request, type Router } from 'express';
import { SandboxRejection, type SandboxTrade, type TradeBook } from './trade-book';

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
        html: () => res.send(page(trade, `<p>支付成功 Payment succeeded.</p>${link}`)),
      });
    });
  }

  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!(err instanceof SandboxRejection)) return next(err);
    res.status(err.httpStatus).json({ code: err.code, message: err.message });
  };
  router.use(onError);
  return router;
}

function tradeByToken(book: TradeBook, token: unknown): SandboxTrade {
  const trade = typeof token === 'string' ? book.byPayToken(token) : undefined;
  if (!trade) throw new SandboxRejection(404, 'NOT_FOUND', 'no such payment');
  return trade;
}

function page(trade: SandboxTrade, content: string): string {
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>WeChat Pay sandbox</title></head><body>',
    `<h1>${escapeHtml(trade.description)}</h1>`,
    `<p>Order ${escapeHtml(trade.outTradeNo)} (${trade.tradeType}, merchant ${escapeHtml(trade.mchId)}):`,
    `<strong>¥${trade.total / 100n}.${(trade.total % 100n).toString().padStart(2, '0')}</strong></p>`,
    content,
    '</body></html>',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
