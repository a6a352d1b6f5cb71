import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { Notifier, postNotify } from '../kit/notifier';
import type { Faults } from './faults';

export const DEFAULT_NOTIFY_RETRY_DELAYS_MS = [0, 1000, 5000, 30000];

/**
 * The mock channel's notifies: the JSON POSTed to the notify_url on the delay schedule (delay i is waited before
 * attempt i) until the receiver answers HTTP 200 with `{"code":"SUCCESS"}`. The body, hence the notify_id, is the
 * same on every attempt; timestamp, nonce and signature are fresh each time.
 */
export function mockNotifier(secret: string, delaysMs: readonly number[], faults: Faults): Notifier<object> {
  return new Notifier<object>({
    scheduleMs: delaysMs,
    faults,
    deliver: async (url, payload, _attempt, signal) => {
      if (faults.take('dropNotify')) return false;
      const key = faults.take('badNotifySignature') ? `${secret}-wrong` : secret;
      const body = JSON.stringify(payload);
      const headers = { 'Content-Type': 'application/json', ...buildSignedHeaders(key, body) };
      const answer = await postNotify(url, { headers, body }, signal);
      return answer?.status === 200 && isSuccessAck(answer.body);
    },
  });
}

function isSuccessAck(text: string): boolean {
  try {
    return (JSON.parse(text) as { code?: unknown }).code === 'SUCCESS';
  } catch {
    return false;
  }
}
