import type { Pool, PoolConnection, QueryOptions } from 'mariadb';
import { Prisma } from '../generated/prisma/client';
import { KEPT_CHANNEL_RECORDS } from '../domain/channel-record';
import type { ConnectionGate } from '../infra/connection-gate';
import { connectionGate, pipelinesStatements, sqlPool, type Db } from '../infra/db';
import { ReadLanes } from './read-lanes';

/**
 * Statements on the mariadb driver, in the call shape of Prisma's raw queries: `$queryRaw\`SELECT … ${v}\`` returns
 * the rows, `$executeRaw` the affected-row count; a value may be a Prisma.Sql fragment (Prisma.join, Prisma.raw).
 * Rows come back as the driver reads them: snake_case names unless aliased, BIGINT as bigint, DATETIME(3) as a
 * Date (UTC, see createDb), JSON parsed, TINYINT(1) as 0/1, ENUM as its text. Map them in one place per table
 * (src/repo/rows.ts).
 */
export interface Sql {
  $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T>;
  $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

/** What an INSERT or UPDATE tells: rows affected, and the AUTO_INCREMENT id it gave (0n when none). */
export interface Written {
  affectedRows: number;
  insertId: bigint;
}

/** The text of a statement written once per call site: the strings array of a tagged template is the same object. */
const texts = new WeakMap<TemplateStringsArray, string>();

/** SQL text and its parameters; a nested Prisma.Sql fragment is spliced in (it is rare; the plain case is cached). */
export function compile(strings: TemplateStringsArray, values: unknown[]): { sql: string; args: unknown[] } {
  if (!values.some((v) => v instanceof Prisma.Sql)) {
    let sql = texts.get(strings);
    if (sql === undefined) {
      sql = strings.join('?');
      texts.set(strings, sql);
    }
    return { sql, args: values };
  }
  const fragment = new Prisma.Sql(strings, values);
  return { sql: fragment.sql, args: fragment.values };
}

/** Runs statements on a driver connection, or on the pool (each statement on whichever connection is free). */
export class DriverSql implements Sql {
  /** Statements sent through this runner (the tests count them). */
  statements = 0;

  constructor(
    protected readonly target: Pool | PoolConnection,
    /** On the pool: the permits each statement passes first (connection-gate.ts); none on a transaction's connection. */
    private readonly gate?: ConnectionGate,
    /** On a pool that pipelines: where point reads go (read-lanes.ts). */
    private readonly lanes?: ReadLanes,
  ) {}

  $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T> {
    const { sql, args } = compile(strings, values);
    return this.run<T>(sql, args);
  }

  async $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number> {
    return (await this.write(strings, ...values)).affectedRows;
  }

  /** An INSERT or UPDATE, with the id it gave (LAST_INSERT_ID of this statement, no second round trip). */
  async write(strings: TemplateStringsArray, ...values: unknown[]): Promise<Written> {
    const { sql, args } = compile(strings, values);
    const r = await this.run<{ affectedRows: number; insertId: bigint | number }>(sql, args);
    return { affectedRows: r.affectedRows, insertId: BigInt(r.insertId ?? 0) };
  }

  /** A statement whose text is built once (a constant), with its parameters. */
  query<T>(sql: string, args: unknown[]): Promise<T> {
    return this.run<T>(sql, args);
  }

  /** The same, each row an array of its columns in the statement's order (the driver's rowsAsArray). */
  queryArrays<T>(sql: string, args: unknown[]): Promise<T> {
    return this.run<T>({ sql, rowsAsArray: true }, args);
  }

  /**
   * A point read: one short SELECT by key that takes no lock (never FOR UPDATE, never a scan). On the pool it shares
   * a pipelined connection with the reads in flight beside it (read-lanes.ts); on a transaction's connection, or a
   * pool that does not pipeline, it is an ordinary statement.
   */
  pointRead<T>(sql: string, args: unknown[]): Promise<T> {
    if (!this.lanes) return this.query<T>(sql, args);
    this.statements++;
    return this.lanes.execute<T>(sql, args);
  }

  /** The same, each row an array of its columns in the statement's order. */
  pointReadArrays<T>(sql: string, args: unknown[]): Promise<T> {
    if (!this.lanes) return this.queryArrays<T>(sql, args);
    this.statements++;
    return this.lanes.execute<T>({ sql, rowsAsArray: true }, args);
  }

  /**
   * Prepared (the binary protocol): the driver prepares a text once per connection and keeps it (prepareCacheLength,
   * LRU), then each call is one EXECUTE. It costs less CPU than the text protocol here (a 27-column row: ~125 µs
   * against ~200 µs per statement, measured on the shared bench machine), mostly in decoding the row.
   */
  protected run<T>(sql: string | QueryOptions, args: unknown[]): Promise<T> {
    this.statements++;
    if (this.gate) return this.gate.run(() => this.target.execute<T>(sql, args));
    return this.target.execute<T>(sql, args);
  }
}

const poolRunners = new WeakMap<Db, DriverSql>();

/** Statements outside any transaction, on the client's driver pool (autocommit, one pooled connection each). */
export function sqlOf(db: Db): DriverSql {
  let runner = poolRunners.get(db);
  if (!runner) {
    const gate = connectionGate(db);
    runner = new DriverSql(sqlPool(db), gate, pipelinesStatements(db) ? new ReadLanes(sqlPool(db), gate) : undefined);
    poolRunners.set(db, runner);
  }
  return runner;
}

/**
 * `col = <col with one JSON value appended>, ` (the value is the next parameter, as JSON text), dropping the oldest
 * when the array already holds KEPT_CHANNEL_RECORDS: the row's records stay bounded, and the append rides in the
 * statement that already writes the row (no read, no second round trip).
 */
export function appendRecord(column: string): string {
  const current = `COALESCE(${column}, '[]')`;
  const kept = `IF(JSON_LENGTH(${current}) >= ${KEPT_CHANNEL_RECORDS}, JSON_REMOVE(${current}, '$[0]'), ${current})`;
  return `${column} = JSON_ARRAY_APPEND(${kept}, '$', JSON_EXTRACT(?, '$')), `;
}

/** `(?, ?, …), (?, ?, …)` for a multi-row INSERT, as a fragment. */
export function rowsOf(rows: readonly (readonly unknown[])[]): Prisma.Sql {
  return Prisma.join(rows.map((r) => Prisma.sql`(${Prisma.join(r)})`));
}

/** `col = ?, ` for every field given (undefined leaves the column as it is), and the values in the same order. */
export function assignments(columns: Readonly<Record<string, string>>, set: object): { sql: string; args: unknown[] } {
  let sql = '';
  const args: unknown[] = [];
  for (const [field, value] of Object.entries(set)) {
    if (value === undefined) continue;
    const column = columns[field];
    if (!column) throw new Error(`no column for ${field}`);
    sql += `${column} = ?, `;
    args.push(value);
  }
  return { sql, args };
}
