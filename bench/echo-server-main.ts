/**
 * Baseline (a): a bare grpc-js unary echo with the service's server options, nothing else. Prints its port.
 *
 * With BENCH_ECHO_SQL it is a floor instead: each call first runs one hot path's own repository statement on the
 * service's driver pool (DATABASE_URL, DATABASE_POOL_SIZE), then echoes. What the service costs above that floor is
 * its own layer (auth, validation, protobuf, interceptors, mapping, the timeout job), not the database's work:
 * - `create`: insertOrder (CreateOrder's one INSERT), a fresh out_order_no per call;
 * - `query`: findOrderView by out_order_no (Query's one UNION ALL statement and its row mapping), round robin over
 *   the ids in BENCH_IDS_FILE (the orders create-prepay left, the same the Query scenario reads);
 * - `order-row`: the order's row alone by the same key (one unique-key lookup, no children, no mapping): the least any
 *   Query that reads the order from the database could do;
 * - `round-trip`: `SELECT 1` on the same pool, prepared: one database round trip that reads no table.
 * The last two are not Query: they bound it from below, to tell the design's cost from the database's.
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { newPayNo } from '../src/domain/ids';
import { closeDb, createDb, type Db } from '../src/infra/db';
import { findOrderView } from '../src/repo/order-view';
import { insertOrder } from '../src/repo/pay-orders';
import { PAY_ORDER_COLUMNS } from '../src/repo/rows';
import { sqlOf } from '../src/repo/sql';
import { benchOrderCommand, TENANT } from './grpc-frames';
import { announceReady, failStartup } from './ready';

/** Copied from src/grpc/server.ts (it does not export them); checked below so the two cannot drift silently. */
const SERVER_OPTIONS_SOURCE = "{ 'grpc.max_receive_message_length': 1024 * 1024 }";
const SERVER_OPTIONS = { 'grpc.max_receive_message_length': 1024 * 1024 };

function warnIfServiceOptionsDiffer(): void {
  const source = readFileSync(path.resolve(__dirname, '../src/grpc/server.ts'), 'utf8');
  if (!source.includes(`new Server(${SERVER_OPTIONS_SOURCE})`)) {
    console.error('[bench] warning: src/grpc/server.ts no longer uses the server options the echo baseline copies');
  }
}

const identity = (b: Buffer): Buffer => b;
const ECHO_SERVICE = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

type EchoSql = 'create' | 'query' | 'order-row' | 'round-trip';

const ORDER_ROW = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE tenant_id = ? AND out_order_no = ?`;

/** The statement run before each echo; undefined for the bare echo. */
function statementOf(mode: EchoSql | undefined, db: Db | undefined): (() => Promise<unknown>) | undefined {
  if (!mode || !db) return undefined;
  if (mode === 'create') {
    let n = 0;
    const run = `${process.pid}-${Date.now()}`;
    return () => {
      const now = new Date();
      const command = benchOrderCommand(`floor-${run}-${n++}`);
      // Assigned onto the command, not spread with it: see insertOrder. expireAt as createOrder computes it.
      const row = Object.assign(command, {
        payNo: newPayNo(now),
        expireAt: new Date(now.getTime() + command.expireSeconds * 1000),
        createdAt: now,
      });
      return insertOrder(db, row);
    };
  }
  if (mode === 'round-trip') return () => sqlOf(db).pointReadArrays('SELECT 1', []);
  const ids = readFileSync(String(process.env.BENCH_IDS_FILE), 'utf8').split('\n').filter(Boolean);
  if (ids.length === 0) throw new Error(`BENCH_ECHO_SQL=${mode} needs the order ids create-prepay wrote (BENCH_IDS_FILE)`);
  let i = 0;
  if (mode === 'order-row') {
    return async () => {
      const rows = await sqlOf(db).pointReadArrays<unknown[][]>(ORDER_ROW, [TENANT, ids[i++ % ids.length]]);
      if (rows.length !== 1) throw new Error('an order create-prepay made is not there');
    };
  }
  return async () => {
    const view = await findOrderView(db, { tenantId: TENANT, outOrderNo: ids[i++ % ids.length] });
    if (!view) throw new Error('an order create-prepay made is not there');
  };
}

async function main(): Promise<void> {
  warnIfServiceOptionsDiffer();
  const mode = process.env.BENCH_ECHO_SQL as EchoSql | undefined;
  const db = mode ? createDb(String(process.env.DATABASE_URL), Number(process.env.DATABASE_POOL_SIZE ?? 10)) : undefined;
  const statement = statementOf(mode, db);
  const server = new Server(SERVER_OPTIONS);
  // The bare echo answers at once: no promise on its path, so the baseline stays what grpc-js alone costs.
  const Echo = statement
    ? (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        statement().then(
          () => callback(null, call.request),
          (err: Error) => callback(err),
        );
      }
    : (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request);
  server.addService(ECHO_SERVICE, { Echo });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  announceReady({ grpcPort: port }, async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    if (db) await closeDb(db);
  });
}

main().catch(failStartup);
