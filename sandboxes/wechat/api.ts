import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { isSandboxRejection, jsonBody, rawBody, SandboxRejection } from '../kit/http';
import type { Faults } from './faults';
import { verifyAuthorization, type MerchantRegistry, type PlatformSigner, type SandboxMerchant } from './protocol';
import type { BillDesk } from './statements';
import { closeRequest, prepayRequest, refundRequest } from './requests';
import type { SandboxRefund, SandboxTrade, TradeBook, TradeType } from './trade-book';

/** What the /v3 API needs from the sandbox around it. */
export interface ApiContext {
  book: TradeBook;
  merchants: MerchantRegistry;
  faults: Faults;
  signer: PlatformSigner;
  /** Holds a request (the `hang` fault). */
  hold(ms: number): Promise<void>;
  /** A refund was just created: settle it at once unless refunds are held. */
  refundCreated(refund: SandboxRefund): void;
  publicBaseUrl(req: Request): string;
  bills: BillDesk;
}

const NOT_JSON = '请求体不是合法的JSON';

const TRADE_TYPES: Readonly<Record<string, TradeType>> = { app: 'APP', jsapi: 'JSAPI', native: 'NATIVE', h5: 'MWEB' };

/**
 * The fake WeChat Pay v3 API, mounted at /v3. Every call must carry a valid WECHATPAY2-SHA256-RSA2048
 * Authorization; every answer, including 204 and errors, is signed with the platform key.
 */
export function apiRouter(ctx: ApiContext): Router {
  const { book, faults } = ctx;
  const api = express.Router();
  const merchantOf = (res: Response) => res.locals.merchant as SandboxMerchant;

  api.use(express.raw({ type: () => true, limit: '64kb' }));
  api.use((_req, res, next) => {
    if (faults.take('badResponseSignature')) res.locals.tamper = true;
    if (faults.take('missingResponseSignature')) res.locals.unsigned = true;
    if (faults.take('serverError')) return reply(ctx, res, 500, { code: 'SYSTEM_ERROR', message: '系统错误 (injected)' });
    if (faults.take('rateLimited')) {
      return reply(ctx, res, 429, { code: 'FREQUENCY_LIMITED', message: '频率超限 (injected)' });
    }
    const hang = faults.take('hang');
    if (!hang) return next();
    void ctx.hold(hang.ms).then(() => next());
  });
  api.use((req, res, next) => {
    const check = verifyAuthorization(ctx.merchants, {
      method: req.method,
      originalUrl: req.originalUrl,
      authorization: req.get('authorization'),
      rawBody: rawBody(req),
    });
    if (check.ok) {
      res.locals.merchant = check.merchant;
      return next();
    }
    const detail = {
      field: 'signature',
      location: 'authorization',
      detail: { issue: check.reason },
      sign_information: check.signInformation,
    };
    reply(ctx, res, 401, { code: 'SIGN_ERROR', message: `签名错误: ${check.reason}`, detail });
  });

  api.post('/pay/transactions/:type', (req, res) => {
    const tradeType = Object.hasOwn(TRADE_TYPES, req.params.type) ? TRADE_TYPES[req.params.type] : undefined;
    if (!tradeType) throw new SandboxRejection(404, 'NOT_FOUND', 'no such API');
    const body = jsonBody(prepayRequest, req, NOT_JSON, 300);
    const merchant = merchantOf(res);
    if (body.mchid !== merchant.mchId) throw new SandboxRejection(400, 'PARAM_ERROR', 'mchid与请求签名的商户号不一致');
    if (body.appid !== merchant.appId) throw new SandboxRejection(400, 'PARAM_ERROR', 'appid和mch_id不匹配');
    if (tradeType === 'JSAPI' && !body.payer) throw new SandboxRejection(400, 'PARAM_ERROR', '缺少参数 payer');
    if (tradeType === 'MWEB' && !body.scene_info?.h5_info) {
      throw new SandboxRejection(400, 'PARAM_ERROR', '缺少参数 scene_info.h5_info');
    }
    const trade = book.prepay(merchant.mchId, tradeType, body);
    const base = ctx.publicBaseUrl(req);
    if (tradeType === 'NATIVE') {
      return reply(ctx, res, 200, { code_url: `${base}/wxpay/bizpayurl?pr=${trade.payToken}` });
    }
    if (tradeType === 'MWEB') {
      const h5Url = `${base}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${trade.prepayId}&package=${trade.payToken}`;
      return reply(ctx, res, 200, { h5_url: h5Url });
    }
    reply(ctx, res, 200, { prepay_id: trade.prepayId });
  });

  api.get('/pay/transactions/out-trade-no/:outTradeNo', (req, res) => {
    const mchId = requireMchidQuery(req, merchantOf(res));
    reply(ctx, res, 200, book.transactionJson(book.get(mchId, req.params.outTradeNo)));
  });
  api.get('/pay/transactions/id/:transactionId', (req, res) => {
    const mchId = requireMchidQuery(req, merchantOf(res));
    const trade: SandboxTrade | undefined = book.byTransactionId(mchId, req.params.transactionId);
    if (!trade) throw new SandboxRejection(404, 'ORDER_NOT_EXIST', '订单不存在');
    reply(ctx, res, 200, book.transactionJson(trade));
  });
  api.post('/pay/transactions/out-trade-no/:outTradeNo/close', (req, res) => {
    const body = jsonBody(closeRequest, req, NOT_JSON, 300);
    if (body.mchid !== merchantOf(res).mchId) throw new SandboxRejection(400, 'PARAM_ERROR', 'mchid与请求签名的商户号不一致');
    book.close(body.mchid, req.params.outTradeNo);
    reply(ctx, res, 204);
  });

  api.post('/refund/domestic/refunds', (req, res) => {
    const { refund, created } = book.createRefund(merchantOf(res).mchId, jsonBody(refundRequest, req, NOT_JSON, 300));
    if (created) ctx.refundCreated(refund);
    reply(ctx, res, 200, book.refundJson(refund));
  });
  api.get('/refund/domestic/refunds/:outRefundNo', (req, res) => {
    reply(ctx, res, 200, book.refundJson(book.refund(merchantOf(res).mchId, req.params.outRefundNo)));
  });

  api.get('/bill/tradebill', async (req, res) => {
    reply(ctx, res, 200, await ctx.bills.tradebill(merchantOf(res), req.query, ctx.publicBaseUrl(req)));
  });
  // The download's request is signed (checked above); its answer is not: no Wechatpay-* headers, as WeChat's.
  api.get(['/billdownload/file', '/bill/downloadurl'], (req, res) => {
    const bill = ctx.bills.file(merchantOf(res), req.query.token);
    res
      .status(200)
      .type(bill.gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8')
      .send(bill.bytes);
  });

  api.use((_req, res) => reply(ctx, res, 404, { code: 'NOT_FOUND', message: 'no such API' }));
  api.use(((err, _req, res, _next) => {
    if (isSandboxRejection(err)) {
      return reply(ctx, res, err.httpStatus, { code: err.code, message: err.message });
    }
    const status = (err as { status?: number }).status;
    if (status === 413 || status === 400) {
      return reply(ctx, res, 400, { code: 'PARAM_ERROR', message: 'unreadable or too large body' });
    }
    reply(ctx, res, 500, { code: 'SYSTEM_ERROR', message: err instanceof Error ? err.message : 'internal error' });
  }) as ErrorRequestHandler);
  return api;
}

/** Every answer is signed over its exact body bytes (an empty body for 204), unless a fault says otherwise. */
function reply(ctx: ApiContext, res: Response, status: number, payload?: object): void {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  if (!res.locals.unsigned) res.set(ctx.signer.headers(body, { tamper: res.locals.tamper === true }));
  res.status(status);
  if (payload === undefined) return void res.end();
  res.type('application/json').send(body);
}

function requireMchidQuery(req: Request, merchant: SandboxMerchant): string {
  const mchid = req.query.mchid;
  if (typeof mchid !== 'string' || mchid === '') throw new SandboxRejection(400, 'PARAM_ERROR', '缺少参数 mchid');
  if (mchid !== merchant.mchId) throw new SandboxRejection(400, 'PARAM_ERROR', 'mchid与请求签名的商户号不一致');
  return mchid;
}
