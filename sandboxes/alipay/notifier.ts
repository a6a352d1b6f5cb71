import { beijingTime } from '../../src/channels/alipay/time';
import { Notifier, postNotify } from '../kit/notifier';
import type { Faults } from './faults';
import { signForm } from './protocol';

/** Alipay's waits between the 8 deliveries of one notification: 4m, 10m, 10m, 1h, 2h, 6h, 15h (about 24h22m). */
export const ALIPAY_NOTIFY_INTERVALS_MS: readonly number[] = [4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000);

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
 * Alipay's notifies: a form POST to notify_url, first at once, then after each interval of the schedule (times
 * `timeScale`) until the receiver answers HTTP 200 with the exact body `success`. Every attempt gets a fresh
 * notify_time and signature; the notify_id stays. Each attempt is recorded in `deliveries`.
 */
export function alipayNotifier(
  alipayPrivateKey: string,
  timeScale: number,
  faults: Faults,
  deliveries: NotifyDelivery[],
): Notifier<Record<string, string>> {
  return new Notifier<Record<string, string>>({
    scheduleMs: [0, ...ALIPAY_NOTIFY_INTERVALS_MS.map((ms) => ms * timeScale)],
    faults,
    deliver: async (url, fields, attempt, signal) => {
      const tamper = faults.take('badNotifySignature') !== undefined;
      const form = signForm({ ...fields, notify_time: beijingTime(new Date()) }, alipayPrivateKey, tamper);
      const headers = { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' };
      const answer = await postNotify(url, { headers, body: new URLSearchParams(form).toString() }, signal);
      const acked = answer?.status === 200 && answer.body === 'success';
      const { notify_id: notifyId, out_trade_no: outTradeNo, trade_status: tradeStatus } = fields;
      if (!signal.aborted) deliveries.push({ notifyId, outTradeNo, tradeStatus, attempt, status: answer?.status ?? 'error', acked });
      return acked;
    },
  });
}
