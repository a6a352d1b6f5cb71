import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Response } from 'express';
import { buildSignedHeaders, verifySignature } from '../../src/channels/mock/signature';
import { createRefundRequest, createTradeRequest, type NotifyJson, type TradeJson } from '../../src/channels/mock/wire';
import { FaultBook } from '../kit/faults';
import { isSandboxRejection, jsonBody, rawBody } from '../kit/http';
import { type Sandbox, sandboxBasics } from '../kit/sandbox';
import { SandboxServer } from '../kit/server';
import { cashierRouter } from './cashier';
import type { ApiCall, GatewayFault } from './faults';
import { DEFAULT_NOTIFY_RETRY_DELAYS_MS, mockNotifier } from './notifier';
import { type MockTrade, TradeBook } from './trade-book';

export interface MockGatewayOptions {
  secret: string;
  /** Wait before each notify attempt; the default is channel-like, tests pass a compressed schedule. */
  notifyRetryDelaysMs?: number[];
  /** Base of the pay_url handed out; defaults to the scheme and Host the API request came in on. */
  publicBaseUrl?: string;
}

export interface MockGateway extends Sandbox<GatewayFault> {
  /** Same as POST /pay/:outTradeNo: marks the trade paid and starts delivering its notify. */
  pay(outTradeNo: string): void;
  /** The trade as GET /v1/trades/:outTradeNo reports it, or undefined if the channel never saw it. */
  trade(outTradeNo: string): TradeJson | undefined;
  /** Sum of the trade's successful refunds, minor units. */
  refundedTotal(outTradeNo: string): bigint;
  /** While held, new refunds stay PROCESSING until `settleRefund`; otherwise they succeed at once. */
  holdRefunds(hold: boolean): void;
  settleRefund(outRefundNo: string, status: 'SUCCESS' | 'FAIL'): void;
}

const NOT_JSON = 'body is not JSON';

/** A fake external payment provider speaking the mock channel's signed JSON API, with a cashier page. */
export function createMockGateway(opts: MockGatewayOptions): MockGateway {
  const book = new TradeBook();
  const faults = new FaultBook<GatewayFault>();
  const notifier = mockNotifier(opts.secret, opts.notifyRetryDelaysMs ?? DEFAULT_NOTIFY_RETRY_DELAYS_MS, faults);
  const http = new SandboxServer();
  let refundsHeld = false;

  const payTrade = (outTradeNo: string): MockTrade => {
    const closed = book.find(outTradeNo) !== undefined && book.status(book.trade(outTradeNo)) === 'CLOSED';
    const { trade, newlyPaid } = book.pay(outTradeNo, { evenIfClosed: closed && faults.take('successAfterClose') !== undefined });
    if (newlyPaid) {
      const shift = faults.take('notifyAmountMismatch')?.delta ?? 0n;
      const notify: NotifyJson = {
        notify_id: randomUUID(),
        event: 'TRADE.SUCCESS',
        mch_id: trade.mchId,
        out_trade_no: trade.outTradeNo,
        trade_no: trade.tradeNo,
        amount: (trade.amount + shift).toString(),
        currency: trade.currency,
        paid_at: (trade.paidAt as Date).toISOString(),
        ...(trade.payerId && { payer_id: trade.payerId }),
      };
      void notifier.send(trade.notifyUrl, notify);
    }
    return trade;
  };

  const settleRefund = (outRefundNo: string, status: 'SUCCESS' | 'FAIL'): void => {
    if (!book.settleRefund(outRefundNo, status)) return;
    const refund = book.refund(outRefundNo);
    const notify: NotifyJson = {
      notify_id: randomUUID(),
      event: status === 'SUCCESS' ? 'REFUND.SUCCESS' : 'REFUND.FAIL',
      mch_id: book.trade(refund.outTradeNo).mchId,
      out_trade_no: refund.outTradeNo,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      amount: refund.amount.toString(),
    };
    void notifier.send(book.trade(refund.outTradeNo).notifyUrl, notify);
  };

  const reply = (res: Response, status: number, payload: object): void => {
    const body = JSON.stringify(payload);
    const secret = res.locals.tamperSignature ? `${opts.secret}-wrong` : opts.secret;
    res.status(status).set(buildSignedHeaders(secret, body)).type('application/json').send(body);
  };

  const api = express.Router();
  api.use(express.raw({ type: () => true, limit: '64kb' }));
  api.use((req, res, next) => {
    const call = `${req.method} ${req.path}`;
    const here = (f: { on?: ApiCall }) => f.on === undefined || call === f.on || (f.on.endsWith('/') && call.startsWith(f.on));
    if (faults.take('badResponseSignature')) res.locals.tamperSignature = true;
    if (faults.take('serverError', here)) return reply(res, 500, { code: 'SYSTEM_ERROR', message: 'injected failure' });
    const hang = faults.take('hang', here);
    if (!hang) return next();
    void http.hold(hang.ms).then(() => next());
  });
  api.use((req, res, next) => {
    const check = verifySignature(opts.secret, req.headers, rawBody(req));
    if (check.valid) return next();
    reply(res, 401, { code: 'SIGN_ERROR', message: check.reason });
  });

  api.post('/trades', (req, res) => {
    const trade = book.createTrade(jsonBody(createTradeRequest, req, NOT_JSON));
    const base = opts.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`;
    reply(res, 200, { trade_no: trade.tradeNo, pay_url: `${base}/pay/${encodeURIComponent(trade.outTradeNo)}` });
  });
  api.get('/trades/:outTradeNo', (req, res) => {
    reply(res, 200, book.tradeJson(book.trade(req.params.outTradeNo)));
  });
  api.post('/trades/:outTradeNo/close', (req, res) => {
    book.close(req.params.outTradeNo);
    reply(res, 200, book.tradeJson(book.trade(req.params.outTradeNo)));
  });
  api.post('/refunds', (req, res) => {
    const { refund, created } = book.createRefund(jsonBody(createRefundRequest, req, NOT_JSON));
    if (created && faults.take('refundFails')) settleRefund(refund.outRefundNo, 'FAIL');
    else if (created && !refundsHeld) settleRefund(refund.outRefundNo, 'SUCCESS');
    reply(res, 200, book.refundJson(refund));
  });
  api.get('/refunds/:outRefundNo', (req, res) => {
    reply(res, 200, book.refundJson(book.refund(req.params.outRefundNo)));
  });
  api.use(((err, _req, res, _next) => {
    if (isSandboxRejection(err)) return reply(res, err.httpStatus, { code: err.code, message: err.message });
    reply(res, 500, { code: 'SYSTEM_ERROR', message: err instanceof Error ? err.message : 'internal error' });
  }) as ErrorRequestHandler);

  const app = express();
  app.use('/v1', api);
  app.use('/pay', cashierRouter(book, payTrade));
  // The buyer's side of the story, for a script in another process (the demo): what a buyer can make happen at a
  // real cashier (paying a trade as it closes), never what the API itself answers. Unsigned, like the cashier.
  app.post('/sandbox/buyer-faults', express.json(), (req, res) => {
    const kind: unknown = (req.body as { kind?: unknown } | undefined)?.kind;
    if (kind !== 'successAfterClose') return reply(res, 400, { code: 'INVALID_REQUEST', message: 'kind must be successAfterClose' });
    faults.inject({ kind }, 1);
    reply(res, 200, { injected: kind });
  });

  return {
    ...sandboxBasics(app, { http, faults, notifier }),
    pay: (outTradeNo) => void payTrade(outTradeNo),
    trade: (outTradeNo) => {
      const trade = book.find(outTradeNo);
      return trade && book.tradeJson(trade);
    },
    refundedTotal: (outTradeNo) => book.refundedTotal(outTradeNo),
    holdRefunds: (hold) => {
      refundsHeld = hold;
    },
    settleRefund,
  };
}
