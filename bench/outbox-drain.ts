/**
 * How fast the outbox drains: N events written straight into outbox_event (as N committed changes would leave
 * them), then the time until the relay has delivered all of them to their topic queues. Run:
 * `BENCH_DATABASE=<db>_bench tsx bench/outbox-drain.ts [N]` with the services up (`npm run services start`).
 * Uses the scratch database BENCH_DATABASE (default paysvc_bench), recreated, and queue prefixes of its own.
 *
 * The events are written before the service starts (as a backlog after an outage would be) but held back (status
 * DEAD, which no relay claims); once the service is up, one UPDATE makes them PENDING and the clock and the CPU
 * count start. So the figures are the relay's and the delivery's alone, not the writes' or the start-up's.
 * At the end every topic queue must hold its events exactly once. BENCH_OUTBOX_TOPICS (default 4) topics share
 * the events round robin; BENCH_CPU_PROF=<dir> profiles the measured window and prints its hot spots.
 */
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { startService } from '../src/bootstrap';
import { loadConfig } from '../src/config';
import { PaymentEvent, PaymentEventType } from '../src/gen/payment/v1/events';
import { OrderStatus } from '../src/gen/payment/v1/types';
import { closeDb, createDb, sqlPool } from '../src/infra/db';
import { migrate } from '../src/infra/migrate';
import { recreateDatabase, startLocalServices } from '../scripts/local-services';
import { summarizeProfile } from './profile-top';
import { benchQueuePrefixes, removeBenchQueues } from './queues';

/** A PAYMENT_SUCCEEDED event in its stored wire shape (proto3 JSON, ~500 bytes), as paymentEventJson writes it. */
function payload(eventId: string, payNo: string): object {
  return PaymentEvent.toJSON(
    PaymentEvent.fromPartial({
      eventId,
      type: PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED,
      tenantId: 'bench',
      payNo,
      outOrderNo: `O${payNo}`,
      amount: 12_345n,
      currency: 'CNY',
      status: OrderStatus.ORDER_STATUS_SUCCESS,
      version: 3n,
      occurredAt: new Date(),
      channelTradeNo: `4200001234${payNo}`,
      attach: 'cart-7',
      paidAt: new Date(),
    }),
  ) as object;
}

function cpuProfiler(): { stop(file: string): Promise<void> } {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  const started = post('Profiler.enable')
    .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
    .then(() => post('Profiler.start'));
  return {
    stop: async (file) => {
      await started;
      const res = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(file, JSON.stringify(res.profile));
      session.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  const topicCount = Number(process.env.BENCH_OUTBOX_TOPICS ?? 4);
  const profDir = process.env.BENCH_CPU_PROF || undefined;
  const { databaseUrl, redisUrl } = startLocalServices();
  const url = await recreateDatabase(databaseUrl, process.env.BENCH_DATABASE ?? 'paysvc_bench');
  await migrate(url, () => undefined);
  const topics = Array.from({ length: topicCount }, (_, i) => `bench.orders.pay.${i}`);
  const writer = createDb(url, 2);
  const rows = Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    const payNo = `P${String(i).padStart(12, '0')}`;
    return {
      id,
      tenantId: 'bench',
      payNo,
      type: 'PAYMENT_SUCCEEDED',
      orderVersion: 3n,
      topic: topics[i % topicCount],
      payload: payload(id, payNo),
      status: 'DEAD' as const, // held back until the clock starts
    };
  });
  for (let i = 0; i < rows.length; i += 1000) await writer.outboxEvent.createMany({ data: rows.slice(i, i + 1000) });
  const queues = benchQueuePrefixes();
  const service = await startService(
    loadConfig({ DATABASE_URL: url, REDIS_URL: redisUrl, GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'warn', ...queues }),
  );
  const pool = sqlPool(service.deps.db);
  const load = (await import('node:os')).loadavg();
  const profiler = profDir ? cpuProfiler() : undefined;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await sqlPool(writer).query(`UPDATE outbox_event SET status = 'PENDING'`);
  for (;;) {
    // Index range on (status, next_attempt_at): cheap for the service, whatever the table holds.
    const [{ left }] = await pool.query<{ left: bigint }[]>(
      `SELECT COUNT(*) AS \`left\` FROM outbox_event WHERE status IN ('PENDING', 'QUEUED')`,
    );
    if (left === 0n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let profile: string | undefined;
  if (profiler && profDir) {
    mkdirSync(profDir, { recursive: true });
    profile = path.join(profDir, `outbox-drain-${Date.now()}.cpuprofile`);
    await profiler.stop(profile);
  }
  await closeDb(writer);

  // Every event reached its topic queue exactly once (the job id is the event id) and none is dead.
  const [{ dead }] = await pool.query<{ dead: bigint }[]>(`SELECT COUNT(*) AS dead FROM outbox_event WHERE status = 'DEAD'`);
  let queued = 0;
  for (const topic of topics) {
    const q = new Queue(topic, { connection: service.deps.queueRedis, prefix: queues.EVENT_QUEUE_PREFIX });
    queued += (await q.getJobCounts('wait'))['wait'] ?? 0;
    await q.close();
  }
  console.log(
    `${n} events delivered to ${topicCount} topics in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} events/s, ` +
      `${((cpu.user + cpu.system) / n).toFixed(0)} µs service CPU/event; load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );
  if (dead !== 0n || queued !== n) console.log(`MISMATCH: ${queued} jobs in the topic queues for ${n} events, ${dead} dead`);
  await service.stop();
  await removeBenchQueues(redisUrl, queues);
  if (profile) console.log(`\nCPU profile: ${profile}\n${summarizeProfile(profile, 20)}`);
  if (dead !== 0n || queued !== n) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
