import { SecondJobs } from '../../src/jobs/second-jobs';

/** A second's add that the test settles by hand. */
function adds() {
  const calls: { second: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const add = (second: number) =>
    new Promise<unknown>((resolve, reject) => calls.push({ second, resolve: () => resolve(undefined), reject }));
  return { calls, jobs: new SecondJobs(add) };
}

describe('SecondJobs.ensure', () => {
  const now = 1_800_000_000_000;
  const second = now / 1000 + 60; // a minute ahead: remembered

  it('When a second is scheduled again while its add is in flight, then both wait on the one add', async () => {
    const { calls, jobs } = adds();
    const first = jobs.ensure(second, now);
    const again = jobs.ensure(second, now + 5);
    expect(calls).toHaveLength(1);
    expect(again).toBe(first);
    calls[0].resolve();
    await expect(again).resolves.toBeUndefined();
  });

  it('When the add has succeeded, then the next schedule of that second has nothing to wait for (no promise at all)', async () => {
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

  it('When the second is due within the margin, then it is added every time (its job may have run)', async () => {
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
});
