import express from 'express';
import { apiRouter } from './api';
import { type MerchantRegistration, MerchantRegistry, PlatformSigner } from './protocol';
import { cashierRouter } from './cashier';
import { paymentEventBody, refundEventBody, type RefundEventStatus } from './notifies';
import type { WechatSandboxFault } from './faults';
import { wechatNotifier } from './notifier';
import { BillDesk } from './statements';
import { type SandboxRefund, type SandboxTrade, TradeBook } from './trade-book';
import { FaultBook } from '../kit/faults';
import { type Sandbox, sandboxBasics } from '../kit/sandbox';
import { SandboxServer } from '../kit/server';

export interface WechatSandboxOptions {
  /** The sandbox's "WeChat Pay public key" pair: it signs with the private half under this PUB_KEY_ID_… id. */
  platformPrivateKey: string;
  platformPublicKeyId: string;
  /** Multiplies the notify retry schedule (15 s, 15 s, 30 s, 3 min, …); 0.001 makes 15 s into 15 ms. Default 1. */
  timeScale?: number;
  /** Base of the code_url and h5_url handed out; defaults to the scheme and Host the API call came in on. */
  publicBaseUrl?: string;
  merchants?: MerchantRegistration[];
}

export interface WechatSandbox extends Sandbox<WechatSandboxFault> {
  registerMerchant(merchant: MerchantRegistration): void;
  /**
   * The buyer pays (as the cashier pages do): SUCCESS, then a TRANSACTION.SUCCESS notify; with the `payError`
   * fault injected, the payment is declined instead: PAYERROR, and no notify.
   */
  pay(outTradeNo: string): void;
  /** The trade as a query reports it (Transaction JSON), or undefined if WeChat never saw it. */
  trade(outTradeNo: string): Record<string, unknown> | undefined;
  /** Sum of the trade's successful refunds, fen. */
  refundedTotal(outTradeNo: string): bigint;
  /** While held, new refunds stay PROCESSING until `settleRefund`; otherwise they succeed at once. */
  holdRefunds(hold: boolean): void;
  /** PROCESSING (or ABNORMAL) → status, with its REFUND.* notify. */
  settleRefund(outRefundNo: string, status: RefundEventStatus): void;
}

/** A fake WeChat Pay API v3 (direct merchant, public-key mode) with cashier pages and a notifier. */
export function createWechatSandbox(opts: WechatSandboxOptions): WechatSandbox {
  const book = new TradeBook();
  const merchants = new MerchantRegistry();
  const faults = new FaultBook<WechatSandboxFault>();
  const signer = new PlatformSigner(opts.platformPrivateKey, opts.platformPublicKeyId);
  const notifier = wechatNotifier(signer, faults, opts.timeScale ?? 1);
  /** The `outOfOrderNotify` fault holds a notify back, so that the ones sent after it overtake it. */
  const notify = (url: string, body: string): void => void notifier.send(url, body, faults.take('outOfOrderNotify')?.holdMs);
  const http = new SandboxServer();
  let refundsHeld = false;
  for (const m of opts.merchants ?? []) merchants.register(m);

  const apiV3Key = (mchId: string): string => {
    const merchant = merchants.get(mchId);
    if (!merchant) throw new Error(`merchant ${mchId} is not registered`);
    return merchant.apiV3Key;
  };

  const payTrade = (trade: SandboxTrade): SandboxTrade => {
    if (!trade.paidAt && faults.take('payError')) {
      book.decline(trade); // WeChat Pay sends no notify for a failed payment: a query finds it
      return trade;
    }
    if (book.pay(trade, () => faults.take('successAfterClose') !== undefined)) {
      const shift = faults.take('notifyAmountMismatch')?.delta ?? 0n;
      notify(trade.notifyUrl, paymentEventBody(book.transactionJson(trade, shift), apiV3Key(trade.mchId)));
    }
    return trade;
  };

  const settle = (refund: SandboxRefund, status: RefundEventStatus): void => {
    if (!book.settleRefund(refund, status)) return;
    const body = refundEventBody(refund, book.tradeOf(refund), status, apiV3Key(refund.mchId));
    notify(refund.notifyUrl, body);
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(
    '/v3',
    apiRouter({
      book,
      merchants,
      faults,
      signer,
      hold: (ms) => http.hold(ms),
      refundCreated: (refund) => {
        if (!refundsHeld) settle(refund, 'SUCCESS');
      },
      bills: new BillDesk(book, faults),
      publicBaseUrl: (req) => (opts.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/+$/, ''),
    }),
  );
  app.use(cashierRouter(book, payTrade));

  const anyTrade = (outTradeNo: string): SandboxTrade => {
    const trade = book.findAny(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    return trade;
  };

  return {
    ...sandboxBasics(app, { http, faults, notifier }),
    registerMerchant: (m) => merchants.register(m),
    pay: (outTradeNo) => void payTrade(anyTrade(outTradeNo)),
    trade: (outTradeNo) => {
      const trade = book.findAny(outTradeNo);
      return trade && book.transactionJson(trade);
    },
    refundedTotal: (outTradeNo) => book.refundedTotal(anyTrade(outTradeNo)),
    holdRefunds: (hold) => {
      refundsHeld = hold;
    },
    settleRefund: (outRefundNo, status) => {
      const refund = book.findRefundAny(outRefundNo);
      if (!refund) throw new Error(`no refund ${outRefundNo}`);
      settle(refund, status);
    },
  };
}
