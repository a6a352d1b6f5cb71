import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CallHistogram } from './call-histogram';
import type { ConnectionGate } from './connection-gate';

/**
 * One registry per service instance, served by the sidecar at GET /metrics. `gate`: the database pool's connection
 * gate, whose waiters and free permits are read at each scrape.
 */
export function createMetrics(gate?: ConnectionGate) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    /** Observed on every call: a histogram of our own (call-histogram.ts), in prom-client's registry and format. */
    rpcDuration: new CallHistogram(
      'paysvc_rpc_duration_seconds',
      'gRPC unary call latency by method and status code',
      ['method', 'code'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registry,
    ),
    channelCalls: new Histogram({
      name: 'paysvc_channel_call_duration_seconds',
      help: 'Calls to a payment channel by channel, pay way, operation and the outcome the handler reported',
      labelNames: ['channel', 'pay_way', 'operation', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    notifies: new Counter({
      name: 'paysvc_notify_total',
      help: 'Channel notifies by channel and result (PROCESSED, DUPLICATE, REJECTED, IGNORED, RATE_LIMITED, NO_ACCOUNT)',
      labelNames: ['channel', 'result'] as const,
      registers: [registry],
    }),
    refundedAtChannel: new Counter({
      name: 'paysvc_refunded_at_channel_total',
      help: 'Payments first seen already being refunded at the channel by a refund this service did not make',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    automaticRefundFailed: new Counter({
      name: 'paysvc_automatic_refund_failed_total',
      help: 'Automatic refunds given up after their last try failed at the channel, by kind (paid_after_close, duplicate): each needs a refund by hand',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    reconRuns: new Counter({
      name: 'paysvc_reconcile_runs_total',
      help: 'Statement reconciliation runs by channel and how they ended (DONE, NOT_READY, FAILED)',
      labelNames: ['channel', 'status'] as const,
      registers: [registry],
    }),
    reconDifferences: new Counter({
      name: 'paysvc_reconcile_differences_total',
      help: 'Differences statement reconciliation found, by channel and kind (PAID_AT_CHANNEL_ONLY, MISSING_AT_CHANNEL, …)',
      labelNames: ['channel', 'kind'] as const,
      registers: [registry],
    }),
    reconLines: new Counter({
      name: 'paysvc_reconcile_lines_total',
      help: 'Statement lines read by reconciliation, by channel and kind (payment, refund)',
      labelNames: ['channel', 'kind'] as const,
      registers: [registry],
    }),
    reconGivenUp: new Counter({
      name: 'paysvc_reconcile_given_up_total',
      help: 'Days reconciliation gave up on after its last try (statement never ready, or every run failed), by channel: each needs a run by hand',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    reconDuration: new Histogram({
      name: 'paysvc_reconcile_run_duration_seconds',
      help: 'Statement reconciliation runs by channel and how they ended, download to finish',
      labelNames: ['channel', 'status'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    jobs: new Histogram({
      name: 'paysvc_job_duration_seconds',
      help: 'BullMQ job runs by queue and result (completed, failed)',
      labelNames: ['queue', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'paysvc_event_delivery_total',
      help: 'Event deliveries by target kind (queue, webhook) and result (ok, failed, dead)',
      labelNames: ['target', 'result'] as const,
      registers: [registry],
    }),
    outboxLag: new Gauge({
      name: 'paysvc_outbox_lag_seconds',
      help: 'Age of the oldest event not yet delivered (0 when none), as of the last sweep or relay pass',
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'paysvc_outbox_backlog',
      help: 'Events by delivery status, as of the last sweep',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    dbGateWaiting: new Gauge({
      name: 'paysvc_db_gate_waiting',
      help: 'Statements and transactions waiting for a database connection permit (the connection gate), at scrape time',
      registers: [registry],
      collect() {
        this.set(gate?.queued ?? 0);
      },
    }),
    dbGateFree: new Gauge({
      name: 'paysvc_db_gate_free_permits',
      help: 'Database connection permits nobody holds (of DATABASE_POOL_SIZE), at scrape time',
      registers: [registry],
      collect() {
        this.set(gate?.available ?? 0);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
