import { FaultBook } from '../../sandboxes/kit/faults';
import { Notifier } from '../../sandboxes/kit/notifier';
import { eventually } from '../support/harness';

type KitFault = { kind: 'duplicateNotify' } | { kind: 'hang'; ms: number };

/** A notifier over a fake receiver that acknowledges attempt `ackAt` (never, if undefined). */
function notifierFor(scheduleMs: number[], ackAt?: number) {
  const faults = new FaultBook<KitFault>();
  const attempts: { payload: string; attempt: number }[] = [];
  const notifier = new Notifier<string>({
    scheduleMs,
    faults,
    deliver: async (_url, payload, attempt) => {
      attempts.push({ payload, attempt });
      return attempt === ackAt;
    },
  });
  return { faults, attempts, notifier };
}

describe('the sandbox kit', () => {
  it('When a fault is injected for two occurrences, then take hands it out twice and then nothing', () => {
    const faults = new FaultBook<KitFault>();
    faults.inject({ kind: 'hang', ms: 5 }, 2);
    expect([faults.take('hang'), faults.take('hang'), faults.take('hang')]).toEqual([
      { kind: 'hang', ms: 5 },
      { kind: 'hang', ms: 5 },
      undefined,
    ]);
    faults.inject({ kind: 'duplicateNotify' });
    faults.clear();
    expect(faults.take('duplicateNotify')).toBeUndefined();
  });

  it('When the receiver never acknowledges, then the notifier makes one attempt per schedule entry and stops', async () => {
    const { attempts, notifier } = notifierFor([0, 1, 2, 3]);
    await notifier.send('http://receiver.invalid/notify', 'body-1');
    await eventually(async () => notifier.pending === 0);
    expect(attempts).toEqual([0, 1, 2, 3].map((attempt) => ({ payload: 'body-1', attempt })));
  });

  it('When the receiver acknowledges the second attempt, then there is no third', async () => {
    const { attempts, notifier } = notifierFor([0, 1, 1, 1], 1);
    await notifier.send('http://receiver.invalid/notify', 'body-2');
    await eventually(async () => notifier.pending === 0);
    expect(attempts.map((a) => a.attempt)).toEqual([0, 1]);
  });

  it('When duplicateNotify is injected, then the first attempt goes out twice with the same payload', async () => {
    const { faults, attempts, notifier } = notifierFor([0], 0);
    faults.inject({ kind: 'duplicateNotify' });
    await notifier.send('http://receiver.invalid/notify', 'body-3');
    await eventually(async () => notifier.pending === 0);
    expect(attempts).toEqual([
      { payload: 'body-3', attempt: 0 },
      { payload: 'body-3', attempt: 0 },
    ]);
  });

  it('When the notifier is closed, then no waiting attempt goes out and nothing is pending', async () => {
    const { attempts, notifier } = notifierFor([0, 60_000]);
    await notifier.send('http://receiver.invalid/notify', 'body-4');
    expect(notifier.pending).toBe(1);
    notifier.close();
    expect(notifier.pending).toBe(0);
    expect(attempts.map((a) => a.attempt)).toEqual([0]);
  });
});
