import { Notifier, postNotify } from '../kit/notifier';
import type { Faults } from './faults';
import type { PlatformSigner } from './protocol';

/**
 * WeChat Pay's documented notify schedule: the first attempt at once, then retries after
 * 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (about 24h4m in all). Entry i is waited before attempt i.
 */
export const WECHAT_NOTIFY_SCHEDULE_MS: readonly number[] = [
  0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

const UNKNOWN_SERIAL = 'PUB_KEY_ID_0199999999999999999999999999';
const STALE_SECONDS = 600;

/**
 * WeChat Pay's notifies: the JSON body POSTed to the notify_url until the receiver answers 200 or 204, on the
 * schedule scaled by `timeScale`. The body (hence the event id) is the same on every attempt; timestamp,
 * nonce and signature are fresh each time.
 */
export function wechatNotifier(signer: PlatformSigner, faults: Faults, timeScale: number): Notifier<string> {
  return new Notifier<string>({
    scheduleMs: WECHAT_NOTIFY_SCHEDULE_MS.map((ms) => ms * timeScale),
    faults,
    deliver: async (url, body, _attempt, signal) => {
      if (faults.take('dropNotify')) return false;
      const signed = signer.headers(body, {
        signTest: faults.take('signTestNotify') !== undefined,
        ...(faults.take('staleNotifyTimestamp') && { timestamp: Math.floor(Date.now() / 1000) - STALE_SECONDS }),
        ...(faults.take('unknownNotifySerial') && { serial: UNKNOWN_SERIAL }),
      });
      const headers = { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/4.0 (wechatpay-sandbox)', ...signed };
      const answer = await postNotify(url, { headers, body }, signal);
      return answer?.status === 200 || answer?.status === 204;
    },
  });
}
