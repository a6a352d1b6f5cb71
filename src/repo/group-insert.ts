import type { Db } from '../infra/db';
import { sqlOf } from './sql';

/** One table's autocommit INSERT of single rows, and how many of them one statement may carry. */
export interface GroupInsertSpec<T> {
  /** `INSERT INTO t (a, b, …) VALUES`: the statement up to its rows. */
  head: string;
  /** One row's placeholders (and constants), e.g. `(?, ?, 'WAIT_PAY')`. */
  row: string;
  /** The row's parameters, in the placeholders' order. */
  args(row: T): unknown[];
  maxRows: number;
  /**
   * INSERTs of the table on the wire at once per pool. More than one, so that one INSERT that waits (a lock wait on
   * a unique key, up to innodb_lock_wait_timeout) does not hold up every row behind it.
   */
  maxInFlight: number;
  /** The characters of a row's string parameters one statement may carry in all (a lone row is always sent). */
  maxChars: number;
}

/** The spec's INSERT of `n` rows; `insertText(spec, 1)` is the one-row statement, for a row written in a transaction. */
export function insertText(spec: Pick<GroupInsertSpec<unknown>, 'head' | 'row'>, n: number): string {
  return `${spec.head} ${Array.from({ length: n }, () => spec.row).join(', ')}`;
}

type Waiting = { args: unknown[]; chars: number; resolve: () => void; reject: (err: unknown) => void };

/**
 * Group commit for autocommit INSERTs on a pool: up to `maxInFlight` INSERTs of a table on the wire at a time; the
 * rows that come while they all are go together in the next one (up to the spec's limits). A row that finds a free
 * slot goes at once, so under light load nothing waits; under load each row costs a share of a round trip, of the
 * statement's parse and of its commit, instead of one each. Each caller's promise settles when its own row is
 * committed, or with its own row's error: when a grouped INSERT fails (one row's unique key, a value too long: the
 * statement inserted nothing), each of its rows is tried again alone. After a lost connection the INSERT may have
 * committed all the same: an order's retry then finds its own row (a unique violation: the caller's replay), and
 * a notify record, which has no key, may be written twice (a record of a record, never a second payment).
 */
export function groupInsert<T>(spec: GroupInsertSpec<T>): (db: Db, row: T) => Promise<void> {
  const texts: string[] = [];
  const text = (n: number) => (texts[n] ??= insertText(spec, n));
  const groups = new WeakMap<Db, Group>();

  class Group {
    private waiting: Waiting[] = [];
    private writing = 0;

    constructor(private readonly db: Db) {}

    add(args: unknown[]): Promise<void> {
      const chars = args.reduce<number>((n, a) => n + (typeof a === 'string' ? a.length : 0), 0);
      return new Promise((resolve, reject) => {
        this.waiting.push({ args, chars, resolve, reject });
        if (this.writing < spec.maxInFlight) void this.drain();
      });
    }

    /** One writer: sends groups while rows wait (the rows that came during its INSERT go in its next). */
    private async drain(): Promise<void> {
      this.writing++;
      try {
        while (this.waiting.length > 0) await this.write(this.take());
      } finally {
        this.writing--;
      }
    }

    /** The oldest rows, within the limits (always at least one). */
    private take(): Waiting[] {
      let chars = 0;
      let n = 0;
      while (n < this.waiting.length && n < spec.maxRows) {
        chars += this.waiting[n].chars;
        if (n > 0 && chars > spec.maxChars) break;
        n++;
      }
      return this.waiting.splice(0, n);
    }

    private async write(group: Waiting[]): Promise<void> {
      try {
        await this.insert(group);
        for (const w of group) w.resolve();
      } catch (err) {
        if (group.length === 1) return group[0].reject(err);
        await Promise.all(group.map((w) => this.insert([w]).then(w.resolve, w.reject)));
      }
    }

    private insert(rows: Waiting[]): Promise<unknown> {
      return sqlOf(this.db).query(text(rows.length), rows.length === 1 ? rows[0].args : rows.flatMap((w) => w.args));
    }
  }

  return (db, row) => {
    let group = groups.get(db);
    if (!group) {
      group = new Group(db);
      groups.set(db, group);
    }
    return group.add(spec.args(row));
  };
}
