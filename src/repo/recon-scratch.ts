import type { PoolConnection } from 'mariadb';
import type { ReconDifferenceKind } from '../generated/prisma/enums';
import { sqlPool, type Db } from '../infra/db';
import { DIFF_COLUMNS, diffValues, placeholders, type Difference } from './reconciliation';
import { DriverSql } from './sql';

/** A payment or refund the books hold for the day that the statement lacked. */
export interface Unseen {
  id: bigint;
  /** attempt_no for a payment, refund_no for a refund. */
  no: string;
  payNo: string;
  attemptNo: string;
  amount: bigint;
  channelTradeNo: string | null;
  at: Date;
}

/**
 * A dedicated pool connection with two TEMPORARY tables (they live and die with the session): the keys of the
 * lines a run has read (`recon_seen`, VARBINARY so the anti-join compares bytes, never pads spaces) and the
 * differences it found, staged until the statement has ended cleanly (`recon_staged`). A parse error or a crash
 * leaves nothing behind: the tables go with the connection.
 */
export class ReconScratch {
  private constructor(
    private readonly conn: PoolConnection,
    private readonly sql: DriverSql,
  ) {}

  static async open(db: Db): Promise<ReconScratch> {
    const conn = await sqlPool(db).getConnection();
    try {
      await conn.query('DROP TEMPORARY TABLE IF EXISTS recon_seen, recon_staged');
      await conn.query(
        `CREATE TEMPORARY TABLE recon_seen (kind CHAR(1) NOT NULL, no VARBINARY(64) NOT NULL, PRIMARY KEY (kind, no)) ENGINE=InnoDB`,
      );
      await conn.query(
        `CREATE TEMPORARY TABLE recon_staged (
           seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
           kind VARCHAR(32) NOT NULL, pay_no VARCHAR(32) NULL, attempt_no VARCHAR(32) NULL, refund_no VARCHAR(32) NULL,
           out_trade_no VARCHAR(64) NULL, channel_trade_no VARCHAR(64) NULL, out_refund_no VARCHAR(64) NULL,
           statement_amount BIGINT NULL, local_amount BIGINT NULL, statement_fee_milli_fen BIGINT NULL,
           local_fee_milli_fen BIGINT NULL, line INT NULL, resolution VARCHAR(32) NOT NULL, detail VARCHAR(512) NOT NULL
         ) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    } catch (err) {
      await conn.release();
      throw err;
    }
    return new ReconScratch(conn, new DriverSql(conn));
  }

  /** Notes the keys of lines read: P + out_trade_no of a payment line, R + out_refund_no of a refund line. */
  async see(keys: readonly { kind: 'P' | 'R'; no: string }[]): Promise<void> {
    if (keys.length === 0) return;
    await this.sql.query(
      `INSERT IGNORE INTO recon_seen (kind, no) VALUES ${keys.map(() => '(?, ?)').join(', ')}`,
      keys.flatMap((k) => [k.kind, k.no]),
    );
  }

  /** Keeps differences until the statement has ended cleanly. */
  async stage(diffs: readonly Difference[]): Promise<void> {
    if (diffs.length === 0) return;
    await this.sql.query(
      `INSERT INTO recon_staged (${DIFF_COLUMNS}) VALUES ${diffs.map(() => `(${placeholders(14)})`).join(', ')}`,
      diffs.flatMap(diffValues),
    );
  }

  /** The staged differences, `size` at a time, in the order they were staged. */
  async *staged(size: number): AsyncGenerator<Difference[]> {
    let after = 0n;
    for (;;) {
      const rows = await this.sql.query<(StagedRow & { seq: bigint })[]>(
        `SELECT seq, ${DIFF_COLUMNS} FROM recon_staged WHERE seq > ? ORDER BY seq LIMIT ?`,
        [after, size],
      );
      if (rows.length === 0) return;
      after = rows[rows.length - 1].seq;
      yield rows.map(fromStaged);
    }
  }

  /** The tenant's payments on `channel` paid in [from, to) whose attempt no line named, `size` at a time. */
  unseenPayments(k: { tenantId: string; channel: string; from: Date; to: Date }, size: number): AsyncGenerator<Unseen[]> {
    return this.pages(UNSEEN_PAYMENTS, [k.tenantId, k.channel, k.from, k.to], k.from, size);
  }

  /** The tenant's refunds of `channel` payments that succeeded in [from, to) that no line named, `size` at a time. */
  unseenRefunds(k: { tenantId: string; channel: string; from: Date; to: Date }, size: number): AsyncGenerator<Unseen[]> {
    return this.pages(UNSEEN_REFUNDS, [k.tenantId, k.channel, k.from, k.to], k.from, size);
  }

  /** Keyset pages on (time, id): the index (tenant_id, time) carries the id, so each page is a range read. */
  private async *pages(sql: string, args: unknown[], from: Date, size: number): AsyncGenerator<Unseen[]> {
    let at = from;
    let id = 0n;
    for (;;) {
      const rows = await this.sql.query<UnseenRow[]>(sql, [...args, at, at, id, size]);
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      at = last.at;
      id = last.id;
      yield rows.map((r) => ({
        id: r.id,
        no: r.no,
        payNo: r.pay_no,
        attemptNo: r.attempt_no,
        amount: r.amount,
        channelTradeNo: r.channel_trade_no,
        at: r.at,
      }));
      if (rows.length < size) return;
    }
  }

  async close(): Promise<void> {
    try {
      await this.conn.query('DROP TEMPORARY TABLE IF EXISTS recon_seen, recon_staged');
      await this.conn.release();
    } catch {
      this.conn.destroy();
    }
  }
}

interface UnseenRow {
  id: bigint;
  no: string;
  pay_no: string;
  attempt_no: string;
  amount: bigint;
  channel_trade_no: string | null;
  at: Date;
}

const UNSEEN_PAYMENTS = `SELECT a.id, a.attempt_no AS no, a.pay_no, a.attempt_no, COALESCE(a.paid_amount, 0) AS amount,
    a.channel_trade_no, a.paid_at AS at
  FROM pay_attempt a
  WHERE a.tenant_id = ? AND a.channel = ? AND a.paid_at >= ? AND a.paid_at < ? AND a.status = 'SUCCESS'
    AND (a.paid_at > ? OR (a.paid_at = ? AND a.id > ?))
    AND NOT EXISTS (SELECT 1 FROM recon_seen s WHERE s.kind = 'P' AND s.no = CAST(a.attempt_no AS BINARY))
  ORDER BY a.paid_at, a.id LIMIT ?`;

const UNSEEN_REFUNDS = `SELECT r.id, r.refund_no AS no, r.pay_no, r.attempt_no, r.amount, a.channel_trade_no, r.succeeded_at AS at
  FROM refund r JOIN pay_attempt a ON a.attempt_no = r.attempt_no
  WHERE r.tenant_id = ? AND a.channel = ? AND r.succeeded_at >= ? AND r.succeeded_at < ? AND r.status = 'SUCCESS'
    AND (r.succeeded_at > ? OR (r.succeeded_at = ? AND r.id > ?))
    AND NOT EXISTS (SELECT 1 FROM recon_seen s WHERE s.kind = 'R' AND s.no = CAST(r.refund_no AS BINARY))
  ORDER BY r.succeeded_at, r.id LIMIT ?`;

interface StagedRow {
  kind: ReconDifferenceKind;
  pay_no: string | null;
  attempt_no: string | null;
  refund_no: string | null;
  out_trade_no: string | null;
  channel_trade_no: string | null;
  out_refund_no: string | null;
  statement_amount: bigint | null;
  local_amount: bigint | null;
  statement_fee_milli_fen: bigint | null;
  local_fee_milli_fen: bigint | null;
  line: number | null;
  resolution: Difference['resolution'];
  detail: string;
}

const fromStaged = (r: StagedRow): Difference => ({
  kind: r.kind,
  payNo: r.pay_no,
  attemptNo: r.attempt_no,
  refundNo: r.refund_no,
  outTradeNo: r.out_trade_no,
  channelTradeNo: r.channel_trade_no,
  outRefundNo: r.out_refund_no,
  statementAmount: r.statement_amount,
  localAmount: r.local_amount,
  statementFeeMilliFen: r.statement_fee_milli_fen,
  localFeeMilliFen: r.local_fee_milli_fen,
  line: r.line,
  resolution: r.resolution,
  detail: r.detail,
});
