import { beijingTime } from '../../src/channels/alipay/time';
import type { FaultBook } from './faults';
import { signForm } from './protocol';

/** Alipay's waits between the 8 deliveries of one notification: 4m, 10m, 10m, 1h, 2h, 6h, 15h (about 24h22m). */
export const ALIPAY_NOTIFY_INTERVALS_MS: readonly number[] = [4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000);
const ATTEMPT_TIMEOUT_MS = 5000;

export interface NotifyDelivery {
  notifyId: string;
  outTradeNo: string;
  tradeStatus: string;
  attempt: number;
  /** HTTP status, or 'error' when nothing came back. */
  status: number | 'error';
  acked: boolean;
}

/**
 * Delivers notifies as Alipay does: a form POST to notify_url, first at once, then after each interval of the
 * schedule (times `timeScale`) until the receiver answers HTTP 200 with the exact body `success`. Every attempt
 * gets a fresh notify_time and signature; the notify_id stays.
 */
export class AlipayNotifier {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private readonly log: NotifyDelivery[] = [];
  private inFlight = 0;

  constructor(
    private readonly alipayPrivateKey: string,
    private readonly timeScale: number,
    private readonly faults: FaultBook,
  ) {}

  /** Resolves once the first delivery attempt has finished (acknowledged or not). */
  send(url: string, fields: Record<string, string>): Promise<void> {
    const first = new Promise<void>((resolve) => this.schedule(url, fields, 0, resolve));
    if (this.faults.take('duplicateNotify')) this.schedule(url, fields, 0);
    return first;
  }

  deliveries(): readonly NotifyDelivery[] {
    return this.log;
  }

  /** Deliveries waiting for their turn or on the wire: 0 once every notify is acknowledged or given up. */
  get pending(): number {
    return this.timers.size + this.inFlight;
  }

  close(): void {
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(url: string, fields: Record<string, string>, attempt: number, onDone?: () => void): void {
    if (attempt > ALIPAY_NOTIFY_INTERVALS_MS.length || this.stopping.signal.aborted) return onDone?.();
    const delay = attempt === 0 ? 0 : ALIPAY_NOTIFY_INTERVALS_MS[attempt - 1] * this.timeScale;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.inFlight += 1;
      void this.attempt(url, fields, attempt).then((acked) => {
        this.inFlight -= 1;
        onDone?.();
        if (!acked) this.schedule(url, fields, attempt + 1);
      });
    }, delay);
    this.timers.add(timer);
  }

  private async attempt(url: string, fields: Record<string, string>, attempt: number): Promise<boolean> {
    const tamper = this.faults.take('badNotifySignature') !== undefined;
    const form = signForm({ ...fields, notify_time: beijingTime(new Date()) }, this.alipayPrivateKey, tamper);
    const entry: NotifyDelivery = {
      notifyId: fields.notify_id,
      outTradeNo: fields.out_trade_no,
      tradeStatus: fields.trade_status,
      attempt,
      status: 'error',
      acked: false,
    };
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      const body = await res.text();
      entry.status = res.status;
      entry.acked = res.status === 200 && body === 'success';
    } catch {
      // no answer: retried like any other failure
    }
    if (!this.stopping.signal.aborted) this.log.push(entry);
    return entry.acked;
  }
}
