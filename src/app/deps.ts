import type { RedisClient } from '../infra/redis';
import type { ChannelRegistry } from '../channels/registry';
import type { ChannelCall } from '../channels/types';
import type { ChannelAccounts } from './channel-accounts';
import type { PayWayConfigs } from './pay-way-configs';
import type { Tenants } from './tenants';
import type { AutomaticRefundTarget } from '../domain/automatic-refunds';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Markers } from '../infra/markers';
import type { Metrics } from '../infra/metrics';

/** What use cases need from the outside world; built once in src/main.ts (or a test) and passed in. */
export interface Deps {
  db: Db;
  redis: RedisClient;
  channels: ChannelRegistry;
  accounts: ChannelAccounts;
  /** Registered tenants (cached): every RPC's tenant must be one. */
  tenants: Tenants;
  /** Tenants' pay-way configs (cached for PAY_WAY_CACHE_MS): switched off or on, fee rule, display order. */
  payWays: PayWayConfigs;
  log: Logger;
  metrics: Metrics;
  /** What happens to a payment the channel confirms after the order was closed: refund it, or reopen as paid. */
  paidAfterClose: 'refund' | 'reopen';
  /** A FAILED order may be prepaid again until this many of its attempts failed (MAX_PAY_ATTEMPTS). */
  maxPayAttempts: number;
  /** What happens to a second paid attempt of a paid order: refund it automatically, or hold it for an operator. */
  duplicatePayment: 'refund' | 'hold';
  /** Waits before the tries of an automatic refund after the first failed (AUTOMATIC_REFUND_RETRY_DELAYS_MS). */
  automaticRefundRetryDelaysMs: readonly number[];
  /**
   * Unverifiable notifies per minute before the rest are refused unread (429): per tenant and channel, and for
   * the whole service (which also counts notifies for tenants without an account at the channel).
   */
  notifyLimits: { perTenantPerMinute: number; unverifiedPerMinute: number };
  /** Prefix of this service's own Redis keys (QUEUE_PREFIX). */
  keyPrefix: string;
  /** Schedules status queries of an attempt or refund whose outcome the channel has not told us yet. */
  statusSync: { schedule(attemptNo: string): Promise<void>; scheduleRefund(refundNo: string): Promise<void> };
  /**
   * Enqueues an automatic refund (of a payment after close, of a duplicate payment), now or its try `tryNo` at
   * `at`; one job per target and try, so duplicates collapse.
   */
  automaticRefunds: { schedule(target: AutomaticRefundTarget, when?: AutomaticRefundTry): Promise<void> };
  /** Queues an operator's reconciliation run of a (tenant, channel, day) (StartReconciliation). */
  reconciliation: {
    startManual(run: { tenantId: string; channel: string; day: string; actor: string }): Promise<{ jobId: string }>;
  };
  /** Schedules an order's close at its expiry. */
  timeouts: { schedule(order: { tenantId: string; payNo: string; expireAt: Date }): Promise<void> | undefined };
  /** Event delivery: drops an event's queued job so a replay can queue it afresh (false while it runs). */
  deliveries: { forget(eventId: string, topic: string): Promise<boolean> };
  /** Order changes across instances, for WatchOrder. */
  orderFeed: { subscribe(payNo: string, onChange: () => void): Promise<() => Promise<void>>; readonly closed: AbortSignal };
  /** Short-lived "doing X now" markers under QUEUE_PREFIX (a Prepay calling a channel for an attempt). */
  markers: Markers;
  /** How long one channel call may take; a Prepay waits up to this for a concurrent one's call to finish. */
  channelTimeoutMs: number;
  /** How often a watch re-reads its order even without a feed message. */
  watchPollMs: number;
  now: () => Date;
  /** Statement reconciliation's settings (RECONCILE_*); defaults when absent. */
  reconcile?: ReconcileSettings;
}

export interface ReconcileSettings {
  staleMs: number;
  batchSize: number;
  maxApplies: number;
}

/** Per-request context from the transport: the caller's deadline as an abort signal, and who is calling. */
export interface RequestContext extends Pick<ChannelCall, 'signal'> {
  requestId?: string;
  /**
   * Who acts: the authenticated caller's name for an RPC (never a request field), or a system actor (those
   * contain a colon, which caller names cannot). Written on every audit row the call causes.
   */
  actor?: string;
}

/** A later try of an automatic refund, due at `at`. */
export interface AutomaticRefundTry {
  tryNo: number;
  at: Date;
}
