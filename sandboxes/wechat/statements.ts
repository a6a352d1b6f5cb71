import { createHash, randomBytes } from 'node:crypto';
import { beijingTime } from '../../src/channels/alipay/time';
import { randomDigits } from '../kit/keys';
import { SandboxRejection } from '../kit/http';
import type { StatementRow } from '../kit/statement-rows';
import type { Faults } from './faults';
import type { SandboxMerchant } from './protocol';
import { wechatBillBytes } from './statement-file';
import type { TradeBook } from './trade-book';

/** How long a download_url works: 30 s, as the 2021 pages say (the newer ones say 5 min). */
export const BILL_URL_LIFE_MS = 30_000;

interface IssuedBill {
  mchId: string;
  bytes: Buffer;
  gzip: boolean;
  expiresAt: number;
}

/**
 * `GET /v3/bill/tradebill` (bill_type=ALL) and `GET /v3/billdownload/file`: the day's rows are taken from the
 * book when the bill is applied for (hostile statement faults applied then), written with the writer the parser
 * is tested against, and kept under a token for 30 s. Unlike WeChat Pay, today's bill is served too (tests would
 * otherwise need a clock); a future day, or a day with nothing on it, is NO_STATEMENT_EXIST.
 */
export class BillDesk {
  private readonly issued = new Map<string, IssuedBill>();

  constructor(
    private readonly book: TradeBook,
    private readonly faults: Faults,
  ) {}

  async tradebill(merchant: SandboxMerchant, query: Record<string, unknown>, baseUrl: string, now = new Date()): Promise<object> {
    const day = typeof query.bill_date === 'string' ? query.bill_date : '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
      throw new SandboxRejection(400, 'PARAM_ERROR', 'bill_date 格式错误 (yyyy-MM-dd)');
    }
    if ((query.bill_type ?? 'ALL') !== 'ALL') throw new SandboxRejection(400, 'PARAM_ERROR', 'the sandbox serves bill_type=ALL only');
    const tarType = query.tar_type;
    if (tarType !== undefined && tarType !== 'GZIP') throw new SandboxRejection(400, 'PARAM_ERROR', 'tar_type must be GZIP or absent');
    if (this.faults.take('statementNotReady')) throw new SandboxRejection(400, 'STATEMENT_CREATING', '账单生成中');
    if (day > beijingTime(now).slice(0, 10)) throw new SandboxRejection(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在');
    const rows = this.rows(merchant, day);
    if (rows.length === 0) throw new SandboxRejection(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在');
    const gzip = tarType === 'GZIP';
    const bill = await wechatBillBytes(rows, { appId: merchant.appId, mchId: merchant.mchId, gzip });
    const hashValue = this.faults.take('statementBadHash') ? createHash('sha1').update('not this bill').digest('hex') : bill.hashValue;
    for (const [token, b] of this.issued) if (b.expiresAt < now.getTime()) this.issued.delete(token);
    const token = randomBytes(16).toString('base64url');
    this.issued.set(token, {
      mchId: merchant.mchId,
      bytes: bill.bytes,
      gzip,
      expiresAt: now.getTime() + (this.faults.take('statementUrlExpired') ? -1 : BILL_URL_LIFE_MS),
    });
    return {
      hash_type: 'SHA1',
      hash_value: hashValue,
      download_url: this.faults.take('statementNewerUrl')
        ? `${baseUrl}/v3/bill/downloadurl?token=${token}`
        : `${baseUrl}/v3/billdownload/file?token=${token}${gzip ? '&tartype=gzip' : ''}`,
    };
  }

  /** The bill's bytes for a token this merchant was given; throws the download's errors. */
  file(merchant: SandboxMerchant, token: unknown): { bytes: Buffer; gzip: boolean } {
    const bill = typeof token === 'string' ? this.issued.get(token) : undefined;
    if (!bill || bill.expiresAt < Date.now()) throw new SandboxRejection(400, 'INVALID_REQUEST', '下载链接过期,请重新请求文件下载');
    if (bill.mchId !== merchant.mchId) throw new SandboxRejection(403, 'NO_AUTH', '商户号与申请账单的商户号不一致');
    return bill;
  }

  /** The merchant's payments (dated by success) and refunds (dated when accepted, status as of now) of a Beijing day. */
  private rows(merchant: SandboxMerchant, day: string): StatementRow[] {
    const onDay = (at: Date | undefined) => at !== undefined && beijingTime(at).slice(0, 10) === day;
    const rows: StatementRow[] = [];
    for (const t of this.book.allTrades()) {
      if (t.mchId !== merchant.mchId || !onDay(t.paidAt)) continue;
      rows.push({
        kind: 'payment',
        outTradeNo: t.outTradeNo,
        channelTradeNo: t.transactionId!,
        amount: t.total,
        occurredAt: t.paidAt!,
        productName: t.description,
      });
    }
    for (const r of this.book.allRefunds()) {
      if (r.mchId !== merchant.mchId || !onDay(r.createdAt)) continue;
      const t = this.book.get(r.mchId, r.outTradeNo);
      rows.push({
        kind: 'refund',
        outTradeNo: t.outTradeNo,
        channelTradeNo: t.transactionId!,
        outRefundNo: r.outRefundNo,
        channelRefundNo: r.refundId,
        amount: r.amount,
        status: r.status,
        occurredAt: r.createdAt,
        productName: t.description,
      });
    }
    const pick = (outTradeNo?: string) =>
      rows.find((r) => r.kind === 'payment' && (outTradeNo === undefined || r.outTradeNo === outTradeNo));
    const missing = this.faults.take('statementMissingTrade');
    const dropped = missing && pick(missing.outTradeNo);
    if (dropped) rows.splice(rows.indexOf(dropped), 1);
    const differs = this.faults.take('statementAmountDiffers');
    const shifted = differs && pick(differs.outTradeNo);
    if (differs && shifted) shifted.amount += differs.delta ?? 1n;
    const unknownRefund = this.faults.take('statementUnknownRefund');
    const refunded = unknownRefund && pick(unknownRefund.outTradeNo);
    if (unknownRefund && refunded) {
      rows.push({
        ...refunded,
        kind: 'refund',
        outRefundNo: unknownRefund.outRefundNo ?? `RFX${randomDigits(12)}`,
        channelRefundNo: `50${randomDigits(30)}`,
        amount: unknownRefund.amount ?? 1n,
        status: 'SUCCESS',
        occurredAt: new Date(),
      });
    }
    const extra = this.faults.take('statementExtraTrade');
    if (extra) {
      // Paid at WeChat Pay, never heard of by the merchant: in the book (a query finds it), no notify ever sent.
      const amount = extra.amount ?? 4321n;
      const trade = this.book.prepay(merchant.mchId, 'NATIVE', {
        appid: merchant.appId,
        mchid: merchant.mchId,
        description: '未知交易',
        out_trade_no: extra.outTradeNo ?? `X${randomDigits(20)}`,
        notify_url: 'https://unknown.invalid/notify',
        amount: { total: amount },
      });
      this.book.pay(trade, () => false);
      rows.push({
        kind: 'payment',
        outTradeNo: trade.outTradeNo,
        channelTradeNo: trade.transactionId!,
        amount,
        occurredAt: trade.paidAt!,
        productName: trade.description,
      });
    }
    return rows;
  }
}
