/**
 * How fast the outbox drains: N events written straight into outbox_event (as N committed changes would leave
 * them), then the time until the relay has queued and the delivery workers have delivered all of them to their
 * topic queue. Run: `tsx bench/outbox-drain.ts [N]` with the services up (`npm run services start`).
 * The clock and the CPU count start once the service is up. Uses the scratch database BENCH_DATABASE (default paysvc_bench), recreated.
 */
import { randomUUID } from 'node:crypto';
import { startService } from '../src/bootstrap';
import { loadConfig } from '../src/config';
import { createDb } from '../src/infra/db';
import { migrate } from '../src/infra/migrate';
import { recreateDatabase, startLocalServices } from '../scripts/local-services';
import { benchQueuePrefixes, removeBenchQueues } from './queues';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const { databaseUrl, redisUrl } = startLocalServices();
  const url = await recreateDatabase(databaseUrl, process.env.BENCH_DATABASE ?? 'paysvc_bench');
  await migrate(url, () => undefined);
  // The events are written before the service starts (as a backlog after an outage would be), so the figures
  // below are the relay's and the delivery workers' alone, not the writes' or the start-up's.
  const writer = createDb(url, 2);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    tenantId: 'bench',
    payNo: `P${String(i).padStart(12, '0')}`,
    type: 'PAYMENT_SUCCEEDED',
    orderVersion: 3n,
    topic: 'order.pay.notify',
    payload: { eventId: 'x', payNo: `P${i}` },
  }));
  for (let i = 0; i < rows.length; i += 1000) await writer.outboxEvent.createMany({ data: rows.slice(i, i + 1000) });
  await writer.$disconnect();
  const queues = benchQueuePrefixes();
  const service = await startService(
    loadConfig({
      DATABASE_URL: url,
      REDIS_URL: redisUrl,
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      ...queues,
    }),
  );
  const db = service.deps.db;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (;;) {
    const left = await db.outboxEvent.count({ where: { status: { not: 'DELIVERED' } } });
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${n} events delivered in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} events/s, ` +
      `${((cpu.user + cpu.system) / n).toFixed(0)} µs service CPU/event (relay + delivery worker, concurrency 16)`,
  );
  await service.stop();
  await removeBenchQueues(redisUrl, queues);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
