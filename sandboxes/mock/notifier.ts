import type { FaultBook } from './faults';
import { buildSignedHeaders } from '../../src/channels/mock/signature';

export const DEFAULT_NOTIFY_RETRY_DELAYS_MS = [0, 1000, 5000, 30000];
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * Delivers signed notifies the way a payment channel does: POST the JSON to the notify_url, and try again
 * on the delay schedule (delay i is waited before attempt i) until the receiver answers HTTP 200 with
 * `{"code":"SUCCESS"}`. The body, hence the notify_id, is the same on every attempt; timestamp, nonce and
 * signature are fresh each time.
 */
export class NotifyDispatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private inFlight = 0;

  constructor(
    private readonly secret: string,
    private readonly delaysMs: readonly number[],
    private readonly faults: FaultBook,
  ) {}

  send(url: string, payload: object): void {
    const body = JSON.stringify(payload);
    this.schedule(url, body, 0);
    if (this.faults.take('duplicateNotify')) this.schedule(url, body, 0);
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

  private schedule(url: string, body: string, attempt: number): void {
    if (attempt >= this.delaysMs.length || this.stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.inFlight += 1;
      void this.attempt(url, body).then((acked) => {
        this.inFlight -= 1;
        if (!acked) this.schedule(url, body, attempt + 1);
      });
    }, this.delaysMs[attempt]);
    this.timers.add(timer);
  }

  private async attempt(url: string, body: string): Promise<boolean> {
    if (this.faults.take('dropNotify')) return false;
    const secret = this.faults.take('badNotifySignature') ? `${this.secret}-wrong` : this.secret;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...buildSignedHeaders(secret, body) },
        body,
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      const text = await res.text();
      return res.status === 200 && isSuccessAck(text);
    } catch {
      return false;
    }
  }
}

function isSuccessAck(text: string): boolean {
  try {
    return (JSON.parse(text) as { code?: unknown }).code === 'SUCCESS';
  } catch {
    return false;
  }
}
