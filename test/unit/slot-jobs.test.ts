import { SlotJobs } from '../../src/jobs/slot-jobs';

/** A slot's add that the test settles by hand; slots of a second unless told. */
function adds(slotMs?: number) {
  const calls: { slot: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const add = (slot: number) => new Promise<unknown>((resolve, reject) => calls.push({ slot, resolve: () => resolve(undefined), reject }));
  return { calls, jobs: new SlotJobs(add, slotMs) };
}

describe('SlotJobs.ensure', () => {
  const now = 1_800_000_000_000;
  const second = now / 1000 + 60; // a minute ahead: remembered

  it('When a slot is scheduled again while its add is in flight, then both wait on the one add', async () => {
    const { calls, jobs } = adds();
    const first = jobs.ensure(second, now);
    const again = jobs.ensure(second, now + 5);
    expect(calls).toHaveLength(1);
    expect(again).toBe(first);
    calls[0].resolve();
    await expect(again).resolves.toBeUndefined();
  });

  it('When the add has succeeded, then the next schedule of that slot has nothing to wait for (no promise at all)', async () => {
    const { calls, jobs } = adds();
    const first = jobs.ensure(second, now);
    calls[0].resolve();
    await first;
    expect(jobs.ensure(second, now + 10)).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('When the add failed, then the failure reaches the caller and the next schedule adds again', async () => {
    const { calls, jobs } = adds();
    const first = jobs.ensure(second, now);
    calls[0].reject(new Error('Redis is down'));
    await expect(first).rejects.toThrow('Redis is down');
    const retry = jobs.ensure(second, now + 10);
    expect(retry).toBeInstanceOf(Promise);
    expect(calls).toHaveLength(2);
    calls[1].resolve();
    await retry;
  });

  it('When the slot ends within the margin, then it is added every time (its job may have run)', async () => {
    const { calls, jobs } = adds();
    const soon = Math.ceil(now / 1000) + 1;
    const first = jobs.ensure(soon, now);
    calls[0].resolve();
    await first;
    const again = jobs.ensure(soon, now);
    expect(again).toBeInstanceOf(Promise);
    calls[1].resolve();
    await again;
  });

  it('When slots are half a second, then a slot is the half second that ends at slot × 500 ms, and the margin is counted to its end', async () => {
    const { calls, jobs } = adds(500);
    expect(jobs.slotOf(now + 1)).toBe(now / 500 + 1);
    expect(jobs.slotOf(now + 500)).toBe(now / 500 + 1);
    expect(jobs.slotOf(now + 501)).toBe(now / 500 + 2);
    const far = jobs.slotOf(now + 60_000);
    const first = jobs.ensure(far, now);
    calls[0].resolve();
    await first;
    expect(jobs.ensure(far, now)).toBeUndefined(); // a minute ahead: remembered
    const near = jobs.slotOf(now + 1500); // ends 1.5 s ahead, inside the 2 s margin (as a second's index it would be far)
    const once = jobs.ensure(near, now);
    calls[1].resolve();
    await once;
    const again = jobs.ensure(near, now);
    expect(again).toBeInstanceOf(Promise);
    expect(calls.map((c) => c.slot)).toEqual([far, near, near]);
    calls[2].resolve();
    await again;
  });
});
