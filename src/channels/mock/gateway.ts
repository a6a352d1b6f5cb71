import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import type { z } from 'zod';
import { cashierRouter } from './cashier';
import { FaultBook, type GatewayFault } from './faults';
import { DEFAULT_NOTIFY_RETRY_DELAYS_MS, NotifyDispatcher } from './notifier';
import { buildSignedHeaders, verifySignature } from './signature';
import { GatewayRejection, type MockTrade, TradeBook } from './trade-book';
import { createRefundRequest, createTradeRequest, type NotifyJson, type TradeJson } from './wire';
import { SandboxServer } from '../sandbox-server';

export interface MockGatewayOptions {
  secret: string;
  /** Wait before each notify attempt; the default is channel-like, tests pass a compressed schedule. */
  notifyRetryDelaysMs?: number[];
  /** Base of the pay_url handed out; defaults to the scheme and Host the API request came in on. */
  publicBaseUrl?: string;
}

export interface MockGateway {
  readonly app: Express;
  /** Starts an HTTP server for `app` (port 0 = ephemeral) and resolves with its base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops notify and hang timers, and the server started by `listen`. */
  close(): Promise<void>;
  /** Same as POST /pay/:outTradeNo: marks the trade paid and starts delivering its notify. */
  pay(outTradeNo: string): void;
  /** The trade as GET /v1/trades/:outTradeNo reports it, or undefined if the channel never saw it. */
  trade(outTradeNo: string): TradeJson | undefined;
  /** Sum of the trade's successful refunds, minor units. */
  refundedTotal(outTradeNo: string): bigint;
  inject(fault: GatewayFault, times?: number): void;
  clearFaults(): void;
  /** While held, new refunds stay PROCESSING until `settleRefund`; otherwise they succeed at once. */
  holdRefunds(hold: boolean): void;
  settleRefund(outRefundNo: string, status: 'SUCCESS' | 'FAIL'): void;
  /** Notify deliveries still to come or on the wire; tests wait for 0 before asserting what was not sent. */
  notifiesPending(): number;
}

/** A fake external payment provider speaking the mock channel's signed JSON API, with a cashier page. */
export function createMockGateway(opts: MockGatewayOptions): MockGateway {
  const book = new TradeBook();
  const faults = new FaultBook();
  const retryDelaysMs = opts.notifyRetryDelaysMs ?? DEFAULT_NOTIFY_RETRY_DELAYS_MS;
  const notifier = new NotifyDispatcher(opts.secret, retryDelaysMs, faults);
  const http = new SandboxServer();
  const hangTimers = http.hangTimers;
  let refundsHeld = false;

  const payTrade = (outTradeNo: string): MockTrade => {
    const { trade, newlyPaid } = book.pay(outTradeNo);
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
      };
      notifier.send(trade.notifyUrl, notify);
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
    notifier.send(book.trade(refund.outTradeNo).notifyUrl, notify);
  };

  const reply = (res: Response, status: number, payload: object): void => {
    const body = JSON.stringify(payload);
    const secret = res.locals.tamperSignature ? `${opts.secret}-wrong` : opts.secret;
    res.status(status).set(buildSignedHeaders(secret, body)).type('application/json').send(body);
  };

  const api = express.Router();
  api.use(express.raw({ type: () => true, limit: '64kb' }));
  api.use((_req, res, next) => {
    if (faults.take('badResponseSignature')) res.locals.tamperSignature = true;
    if (faults.take('serverError')) return reply(res, 500, { code: 'SYSTEM_ERROR', message: 'injected failure' });
    const hang = faults.take('hang');
    if (!hang) return next();
    const timer = setTimeout(() => {
      hangTimers.delete(timer);
      next();
    }, hang.ms);
    hangTimers.add(timer);
  });
  api.use((req, res, next) => {
    const check = verifySignature(opts.secret, req.headers, rawBody(req));
    if (check.valid) return next();
    reply(res, 401, { code: 'SIGN_ERROR', message: check.reason });
  });

  api.post('/trades', (req, res) => {
    const trade = book.createTrade(parseBody(createTradeRequest, req));
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
    const { refund, created } = book.createRefund(parseBody(createRefundRequest, req));
    if (created && !refundsHeld) settleRefund(refund.outRefundNo, 'SUCCESS');
    reply(res, 200, book.refundJson(refund));
  });
  api.get('/refunds/:outRefundNo', (req, res) => {
    reply(res, 200, book.refundJson(book.refund(req.params.outRefundNo)));
  });
  api.use(((err, _req, res, _next) => {
    if (err instanceof GatewayRejection) return reply(res, err.httpStatus, { code: err.code, message: err.message });
    reply(res, 500, { code: 'SYSTEM_ERROR', message: err instanceof Error ? err.message : 'internal error' });
  }) as ErrorRequestHandler);

  const app = express();
  app.use('/v1', api);
  app.use('/pay', cashierRouter(book, payTrade));

  return {
    app,
    listen: (port, host) => http.listen(app, port, host),
    close: async () => {
      notifier.close();
      await http.close();
    },
    pay: (outTradeNo) => void payTrade(outTradeNo),
    trade: (outTradeNo) => {
      const trade = book.find(outTradeNo);
      return trade && book.tradeJson(trade);
    },
    refundedTotal: (outTradeNo) => book.refundedTotal(outTradeNo),
    inject: (fault, times) => faults.inject(fault, times),
    clearFaults: () => faults.clear(),
    holdRefunds: (hold) => {
      refundsHeld = hold;
    },
    settleRefund,
    notifiesPending: () => notifier.pending,
  };
}

function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function parseBody<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(rawBody(req).toString('utf8'));
  } catch {
    throw new GatewayRejection(400, 'PARAM_ERROR', 'body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new GatewayRejection(400, 'PARAM_ERROR', problems.join('; '));
  }
  return parsed.data;
}
