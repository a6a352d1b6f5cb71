import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { beijingTime } from '../../src/channels/alipay/time';
import { randomDigits } from '../kit/keys';
import type { StatementRow } from '../kit/statement-rows';
import type { Faults } from './faults';
import type { SandboxApp } from './protocol';
import { AlipayRejection } from './rejection';
import { alipayFileNames, writeAlipayStatement } from './statement-file';
import type { TradeBook } from './trade-book';

/** How long a bill_download_url works, as Alipay's: 30 s from the answer. */
export const BILL_URL_LIFE_MS = 30_000;

const billNotExist = () => new AlipayRejection('40004', 'isp.bill_not_exist', '账单不存在');

interface IssuedBill {
  pid: string;
  day: string;
  rows: StatementRow[];
  expiresAt: number;
}

/**
 * `alipay.data.dataservice.bill.downloadurl.query` (bill_type=trade) and the download it points at. The day's
 * rows are taken from the book when the URL is issued (hostile statement faults applied then), and the zip is
 * written from them, with the writer the parsers are tested against, when the URL is fetched within 30 s.
 * Unlike Alipay, today's bill is served too (tests would otherwise need a clock); a future day, or a day with
 * nothing on it, is `isp.bill_not_exist`.
 */
export class BillDesk {
  private readonly issued = new Map<string, IssuedBill>();

  constructor(
    private readonly book: TradeBook,
    private readonly faults: Faults,
  ) {}

  /** The business answer of the downloadurl query; throws AlipayRejection as the gateway answers it. */
  query(app: SandboxApp, biz: Record<string, unknown>, baseUrl: string, now = new Date()): Record<string, string> {
    if (biz.bill_type !== 'trade') throw new AlipayRejection('40004', 'isv.invalid-arguments', 'bill_type must be trade');
    const day = typeof biz.bill_date === 'string' ? biz.bill_date : '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
      throw new AlipayRejection('40004', 'isv.invalid-arguments', 'bill_date must be yyyy-MM-dd');
    }
    if (this.faults.take('statementNotReady')) throw billNotExist();
    if (day > beijingTime(now).slice(0, 10)) throw billNotExist();
    const rows = this.rows(app, day);
    if (rows.length === 0) throw billNotExist();
    for (const [token, bill] of this.issued) if (bill.expiresAt < now.getTime()) this.issued.delete(token);
    const token = randomBytes(16).toString('hex');
    this.issued.set(token, {
      pid: app.sellerId,
      day,
      rows,
      expiresAt: now.getTime() + (this.faults.take('statementUrlExpired') ? -1 : BILL_URL_LIFE_MS),
    });
    const compact = day.replaceAll('-', '');
    const fileName = alipayFileNames({ pid: app.sellerId, day }).zip;
    const query = new URLSearchParams({
      bizType: 'trade',
      userId: `${app.sellerId}0156`,
      fileType: 'csv.zip',
      bizDates: compact,
      downloadFileName: fileName,
      timestamp: String(now.getTime()),
      token,
    });
    return { bill_download_url: `${baseUrl}/downloadBillFile.resource?${query.toString()}` };
  }

  /** GET /downloadBillFile.resource: the zip, unsigned; a late or unknown token gets Alipay's timeout text. */
  async download(req: Request, res: Response): Promise<void> {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const bill = this.issued.get(token);
    if (!bill || bill.expiresAt < Date.now()) {
      res.status(200).type('text/html; charset=utf-8').send('下载超时，请重新下载');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'alipay-bill-'));
    try {
      const names = alipayFileNames({ pid: bill.pid, day: bill.day });
      const path = join(dir, names.zip);
      await writeAlipayStatement(path, bill.rows, { pid: bill.pid, day: bill.day, exportedAt: new Date() });
      await new Promise<void>((resolve, reject) => res.type('application/zip').sendFile(path, (err) => (err ? reject(err) : resolve())));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The day's payments and refunds of the app's trades (Beijing day), with the statement faults applied. */
  private rows(app: SandboxApp, day: string): StatementRow[] {
    const onDay = (at: Date | undefined) => at !== undefined && beijingTime(at).slice(0, 10) === day;
    const trades = this.book.all().filter((t) => t.appId === app.appId);
    const rows: StatementRow[] = [];
    for (const t of trades) {
      if (onDay(t.paidAt)) {
        rows.push({
          kind: 'payment',
          outTradeNo: t.outTradeNo,
          channelTradeNo: t.tradeNo,
          amount: t.amount,
          occurredAt: t.paidAt!,
          productName: t.subject,
        });
      }
      for (const r of t.refunds.values()) {
        if (!onDay(r.at)) continue;
        rows.push({
          kind: 'refund',
          outTradeNo: t.outTradeNo,
          channelTradeNo: t.tradeNo,
          outRefundNo: r.outRequestNo,
          amount: r.amount,
          occurredAt: r.at,
          productName: t.subject,
        });
      }
    }
    const payments = () => rows.filter((r) => r.kind === 'payment');
    const pick = (outTradeNo?: string) => payments().find((r) => outTradeNo === undefined || r.outTradeNo === outTradeNo);
    const missing = this.faults.take('statementMissingTrade');
    if (missing) {
      const row = pick(missing.outTradeNo);
      if (row) rows.splice(rows.indexOf(row), 1);
    }
    const differs = this.faults.take('statementAmountDiffers');
    if (differs) {
      const row = pick(differs.outTradeNo);
      if (row) {
        row.amount += differs.delta ?? 1n;
        row.settledAmount = row.amount;
      }
    }
    const unknownRefund = this.faults.take('statementUnknownRefund');
    if (unknownRefund) {
      const row = pick(unknownRefund.outTradeNo);
      if (row) {
        const at = new Date(Math.max(row.occurredAt.getTime(), Date.now()));
        rows.push({
          ...row,
          kind: 'refund',
          outRefundNo: unknownRefund.outRefundNo ?? `RFX${randomDigits(12)}`,
          amount: unknownRefund.amount ?? 1n,
          settledAmount: undefined,
          occurredAt: at,
        });
      }
    }
    const extra = this.faults.take('statementExtraTrade');
    if (extra) {
      // Paid at Alipay, never heard of by the merchant: in the book (a query finds it), no notify was ever sent.
      const outTradeNo = extra.outTradeNo ?? `X${randomDigits(20)}`;
      const amount = extra.amount ?? 4321n;
      const trade = this.book.open({
        kind: 'precreate',
        outTradeNo,
        subject: '未知交易',
        appId: app.appId,
        sellerId: app.sellerId,
        amount,
      });
      const paid = this.book.pay(outTradeNo).trade;
      rows.push({
        kind: 'payment',
        outTradeNo,
        channelTradeNo: trade.tradeNo,
        amount,
        occurredAt: paid.paidAt!,
        productName: trade.subject,
      });
    }
    return rows;
  }
}
