import express, { type Request, type Response } from 'express';
import { normalizePrivateKey, normalizePublicKey } from '../../src/channels/alipay/keys';
import { API_METHODS, PAGE_METHODS, type TradeEvents, tradeFromRequest } from './api';
import { buyerRouter, cashierPage, errorPage } from './cashier';
import type { AlipaySandboxFault } from './faults';
import { generateAlipaySandboxKeys, type AlipayKeyPair } from './keys';
import { alipayNotifier, type NotifyDelivery } from './notifier';
import { closedNotify, paymentNotify, refundNotify, syncReturnParams } from './notifies';
import { authenticate, bizContent, mergeParams, type SandboxApp, signedResponseText, signForm } from './protocol';
import { AlipayRejection } from './rejection';
import { BillDesk } from './statements';
import { type SandboxTrade, type SandboxTradeStatus, TradeBook } from './trade-book';
import { FaultBook } from '../kit/faults';
import { type Sandbox, sandboxBasics } from '../kit/sandbox';
import { SandboxServer } from '../kit/server';

export interface AlipaySandboxOptions {
  /** The sandbox's own "Alipay" key pair; generated when absent. */
  alipayKeys?: AlipayKeyPair;
  /** Merchant apps known from the start; more with registerApp(). */
  apps?: SandboxApp[];
  /** Multiplies Alipay's notify schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h); tests pass a tiny factor. Default 1. */
  timeScale?: number;
  /** Base of qr_code URLs; defaults to the scheme and Host the request came in on. */
  publicBaseUrl?: string;
}

export interface SandboxTradeView {
  outTradeNo: string;
  tradeNo: string;
  kind: SandboxTrade['kind'];
  /** NOT_EXIST while a precreate QR code is not scanned. */
  status: SandboxTradeStatus | 'NOT_EXIST';
  amount: bigint;
  refunded: bigint;
  notifyUrl?: string;
  /** The buyer as Alipay names them (2088… id) and shows them (masked logon id). */
  buyerId: string;
  buyerLogonId: string;
  paidAt?: Date;
}

export interface AlipaySandbox extends Sandbox<AlipaySandboxFault> {
  /** What accounts configure as alipayPublicKey (SPKI PEM). */
  readonly alipayPublicKey: string;
  registerApp(app: SandboxApp): void;
  /** Starts an HTTP server (port 0 = ephemeral) and resolves with its base URL; the gateway is `${base}/gateway.do`. */
  listen(port: number, host?: string): Promise<string>;
  /** The buyer pays a trade the sandbox knows (a precreate is scanned first); its notify follows. */
  pay(outTradeNo: string): void;
  /** The buyer scans a precreate QR code: the trade now exists (WAIT_BUYER_PAY). */
  scan(outTradeNo: string): void;
  /** The Alipay app submits an App order string (signature checked) and the buyer pays; returns out_trade_no. */
  payOrderString(orderString: string): string;
  trade(outTradeNo: string): SandboxTradeView | undefined;
  refundedTotal(outTradeNo: string): bigint;
  /** Every notify delivery attempt so far, in order. */
  deliveries(): readonly NotifyDelivery[];
  /** Deliveries still to come or on the wire (a held out-of-order notify is not one); tests wait for 0. */
  notifiesPending(): number;
}

const BILL_METHOD = 'alipay.data.dataservice.bill.downloadurl.query';

/** A fake Alipay classic gateway (gateway.do) with cashier pages, signed notifies and hostile switches. */
export function createAlipaySandbox(opts: AlipaySandboxOptions = {}): AlipaySandbox {
  const keys = opts.alipayKeys ?? generateAlipaySandboxKeys();
  const alipayPrivateKey = normalizePrivateKey(keys.privateKey);
  const alipayPublicKey = normalizePublicKey(keys.publicKey);
  const apps = new Map<string, SandboxApp>();
  const registerApp = (a: SandboxApp) => apps.set(a.appId, { ...a, appPublicKey: normalizePublicKey(a.appPublicKey) });
  for (const a of opts.apps ?? []) registerApp(a);
  const book = new TradeBook();
  const faults = new FaultBook<AlipaySandboxFault>();
  const deliveries: NotifyDelivery[] = [];
  const notifier = alipayNotifier(alipayPrivateKey, opts.timeScale ?? 1, faults, deliveries);
  const held = new Map<string, Record<string, string>>(); // out-of-order: payment notifies held back
  const http = new SandboxServer();

  const notify = (trade: SandboxTrade, fields: Record<string, string>): void => {
    if (!trade.notifyUrl) return;
    const url = trade.notifyUrl;
    const late = held.get(trade.outTradeNo);
    held.delete(trade.outTradeNo);
    void notifier.send(url, fields).then(() => late && notifier.send(url, late));
  };
  const events: TradeEvents = {
    closed: (trade) => notify(trade, closedNotify(trade)),
    refunded: (trade, refund) => notify(trade, refundNotify(trade, refund, book.refundedTotal(trade))),
  };

  const payTrade = (outTradeNo: string): SandboxTrade => {
    const existing = book.find(outTradeNo);
    const closed = existing !== undefined && !existing.paidAt && book.status(existing) === 'TRADE_CLOSED';
    const force = closed && faults.take('successAfterClose') !== undefined;
    const { trade, newlyPaid } = book.pay(outTradeNo, force);
    if (!newlyPaid || !trade.notifyUrl) return trade;
    const fields = paymentNotify(trade, faults.take('notifyAmountMismatch')?.delta ?? 0n);
    if (faults.take('outOfOrderNotify')) held.set(trade.outTradeNo, fields);
    else notify(trade, fields);
    return trade;
  };

  const payOrderString = (orderString: string): SandboxTrade => {
    const params = mergeParams(Object.fromEntries(new URLSearchParams(orderString)));
    const app = authenticate(params, apps);
    if (params.method !== 'alipay.trade.app.pay') throw new AlipayRejection('40002', 'isv.invalid-method', 'not an App order string');
    const trade = book.open(tradeFromRequest('app', app, params, bizContent(params)));
    return payTrade(trade.outTradeNo);
  };

  const returnLocation = (trade: SandboxTrade): string | undefined => {
    if (!trade.returnUrl) return undefined;
    const query = new URLSearchParams(signForm(syncReturnParams(trade), alipayPrivateKey)).toString();
    return `${trade.returnUrl}${trade.returnUrl.includes('?') ? '&' : '?'}${query}`;
  };

  const reply = (res: Response, method: string, inner: object): void => {
    const tamper = faults.take('badResponseSignature') !== undefined;
    const omit = 'code' in inner && inner.code === '10000' ? faults.take('omitAnswerField') : undefined;
    if (omit) inner = Object.fromEntries(Object.entries(inner).filter(([k]) => k !== omit.field));
    const key = /^[a-z][a-z0-9.]*$/.test(method) ? method : '';
    res
      .status(200)
      .type('application/json;charset=utf-8')
      .send(signedResponseText(key, inner, alipayPrivateKey, tamper));
  };

  const baseUrlOf = (req: Request) => opts.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`;
  const bills = new BillDesk(book, faults);

  const api = async (req: Request, res: Response, params: Record<string, string>): Promise<void> => {
    const method = params.method ?? '';
    const broken = faults.take('serverError');
    if (broken)
      return void res
        .status(broken.status ?? 502)
        .type('text/plain')
        .send('Bad Gateway');
    const hang = faults.take('hang');
    if (hang) await http.hold(hang.ms);
    try {
      const app = authenticate(params, apps);
      if (faults.take('unknownError')) throw new AlipayRejection('20000', 'isp.unknow-error', '系统繁忙');
      if (faults.take('systemError')) throw new AlipayRejection('40004', 'ACQ.SYSTEM_ERROR', '系统错误');
      if (method === BILL_METHOD)
        return reply(res, method, { code: '10000', msg: 'Success', ...bills.query(app, bizContent(params), baseUrlOf(req)) });
      const run = Object.hasOwn(API_METHODS, method) ? API_METHODS[method] : undefined;
      if (!run) throw new AlipayRejection('40002', 'isv.invalid-method', `unknown method ${method}`);
      const answer = run({ book, app, params, biz: bizContent(params), baseUrl: baseUrlOf(req), events });
      reply(res, method, { code: '10000', msg: 'Success', ...answer });
    } catch (err) {
      if (!(err instanceof AlipayRejection)) throw err;
      reply(res, method, err.answer());
    }
  };

  /** wap/page pay: the browser arrives with the signed order; the cashier opens and the trade exists. */
  const cashier = (res: Response, params: Record<string, string>): void => {
    try {
      const app = authenticate(params, apps);
      const trade = book.open(tradeFromRequest(PAGE_METHODS[params.method], app, params, bizContent(params)));
      res.type('html').send(cashierPage(trade, book.status(trade)));
    } catch (err) {
      if (!(err instanceof AlipayRejection)) throw err;
      res.status(400).type('html').send(errorPage(err));
    }
  };

  const app = express();
  app.all('/gateway.do', express.urlencoded({ extended: false, limit: '256kb' }), async (req, res) => {
    let params: Record<string, string>;
    try {
      params = mergeParams(req.query, req.body);
    } catch (err) {
      if (!(err instanceof AlipayRejection)) throw err;
      return reply(res, '', err.answer());
    }
    if (Object.hasOwn(PAGE_METHODS, params.method ?? '')) return cashier(res, params);
    await api(req, res, params);
  });
  app.get('/downloadBillFile.resource', (req, res) => bills.download(req, res));
  app.use(
    buyerRouter({
      status: (trade) => book.status(trade),
      scan: (outTradeNo) => book.scan(outTradeNo),
      pay: payTrade,
      payOrderString,
      returnLocation,
    }),
  );

  return {
    ...sandboxBasics(app, { http, faults, notifier }),
    alipayPublicKey,
    registerApp,
    pay: (outTradeNo) => void payTrade(outTradeNo),
    scan: (outTradeNo) => void book.scan(outTradeNo),
    payOrderString: (orderString) => payOrderString(orderString).outTradeNo,
    trade: (outTradeNo) => {
      const t = book.find(outTradeNo);
      if (!t) return undefined;
      const status = t.scanned ? book.status(t) : 'NOT_EXIST';
      return {
        outTradeNo,
        tradeNo: t.tradeNo,
        kind: t.kind,
        status,
        amount: t.amount,
        refunded: book.refundedTotal(t),
        notifyUrl: t.notifyUrl,
        buyerId: t.buyerId,
        buyerLogonId: t.buyerLogonId,
        paidAt: t.paidAt,
      };
    },
    refundedTotal: (outTradeNo) => {
      const t = book.find(outTradeNo);
      return t ? book.refundedTotal(t) : 0n;
    },
    deliveries: () => deliveries,
  };
}
