import type { PlatformSigner } from './protocol';
import type { FaultBook } from './faults';

/**
 * WeChat Pay's documented notify schedule: the first attempt at once, then retries after
 * 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (about 24h4m in all). Entry i is waited before attempt i.
 */
export const WECHAT_NOTIFY_SCHEDULE_MS: readonly number[] = [
  0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

const ATTEMPT_TIMEOUT_MS = 5000;
const UNKNOWN_SERIAL = 'PUB_KEY_ID_0199999999999999999999999999';
const STALE_SECONDS = 600;

/**
 * Delivers notifies: POST the JSON body to the notify_url until the receiver answers 200 or 204, on the
 * schedule scaled by `timeScale`. The body (hence the event id) is the same on every attempt; timestamp,
 * nonce and signature are fresh each time.
 */
export class WechatNotifier {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly signer: PlatformSigner,
    private readonly faults: FaultBook,
    private readonly timeScale: number,
  ) {}

  send(url: string, body: string): void {
    const holdMs = this.faults.take('outOfOrderNotify')?.holdMs ?? 0;
    this.schedule(url, body, 0, holdMs);
    if (this.faults.take('duplicateNotify')) this.schedule(url, body, 0, holdMs);
  }

  close(): void {
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(url: string, body: string, attempt: number, extraMs = 0): void {
    if (attempt >= WECHAT_NOTIFY_SCHEDULE_MS.length || this.stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(url, body).then((acked) => {
        if (!acked) this.schedule(url, body, attempt + 1);
      });
    }, WECHAT_NOTIFY_SCHEDULE_MS[attempt] * this.timeScale + extraMs);
    this.timers.add(timer);
  }

  private async attempt(url: string, body: string): Promise<boolean> {
    if (this.faults.take('dropNotify')) return false;
    const headers = this.signer.headers(body, {
      signTest: this.faults.take('signTestNotify') !== undefined,
      ...(this.faults.take('staleNotifyTimestamp') && { timestamp: Math.floor(Date.now() / 1000) - STALE_SECONDS }),
      ...(this.faults.take('unknownNotifySerial') && { serial: UNKNOWN_SERIAL }),
    });
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/4.0 (wechatpay-sandbox)', ...headers },
        body,
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      await res.arrayBuffer();
      return res.status === 200 || res.status === 204;
    } catch {
      return false;
    }
  }
}
