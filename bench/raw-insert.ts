/**
 * Baseline (b), run as its own process: `node -r tsx/cjs bench/raw-insert.ts '<json>'`. Each worker owns one
 * mariadb connection and loops BEGIN; INSERT; COMMIT (text protocol, as the driver does by default) into
 * bench_raw_insert, a copy of pay_order's definition (same columns and indexes) in the scratch database.
 * Prints one JSON line (a PhaseResult).
 */
import { createConnection, type Connection } from 'mariadb';
import { announceWindow, phaseResult, runPhases } from './stats';
import { mysqlConnection } from '../src/infra/mysql-url';
import { exitWithParent } from '../scripts/lifecycle';

export interface RawInsertArgs {
  databaseUrl: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
}

export const RAW_TABLE = 'bench_raw_insert';

const INSERT = `INSERT INTO ${RAW_TABLE} (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id,
  pay_way, status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at)
  VALUES (?, 'bench', ?, 1999, 'CNY', 'Bench order', 'one unit of benchmark goods', 'u-bench', 'MOCK', 'WAIT_PAY',
  'payment-events', 'bench', '{"source":"bench"}', '127.0.0.1', '', 1800, ?, ?, ?)`;

function open(databaseUrl: string): Promise<Connection> {
  return createConnection(mysqlConnection(databaseUrl));
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as RawInsertArgs;
  const conns = await Promise.all(Array.from({ length: args.concurrency }, () => open(args.databaseUrl)));
  await conns[0].query(`CREATE TABLE IF NOT EXISTS ${RAW_TABLE} LIKE pay_order`);
  const runTag = Date.now().toString(36);
  const seq = new Array<number>(args.concurrency).fill(0);
  const { rec, seconds, cpuUs } = await runPhases({
    workers: args.concurrency,
    warmupSeconds: args.warmupSeconds,
    seconds: args.seconds,
    onWindow: announceWindow,
    op: async (w, sink) => {
      const conn = conns[w];
      const id = `${runTag}r${w.toString(36)}x${(seq[w]++).toString(36)}`;
      const now = new Date();
      const t = performance.now();
      try {
        await conn.beginTransaction();
        await conn.query(INSERT, [id.slice(-32), id, new Date(now.getTime() + 1800_000), now, now]);
        await conn.commit();
        sink.ok(performance.now() - t);
      } catch (err) {
        sink.fail(err instanceof Error ? err.message.slice(0, 200) : String(err));
        await conn.rollback().catch(() => {});
      }
    },
  });
  await Promise.all(conns.map((c) => c.end()));
  process.stdout.write(`${JSON.stringify(phaseResult('raw-insert', seconds, rec, cpuUs))}\n`);
}

exitWithParent(); // the load stops with the bench that started it
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
