import type { Redis } from 'ioredis';
import { Markers } from '../../src/infra/markers';
import { createRedis } from '../../src/infra/redis';
import { eventually, uniq } from '../support/harness';

let redis: Redis;
beforeAll(() => {
  redis = createRedis(process.env.REDIS_URL!);
});
afterAll(() => redis.quit());

describe('Markers', () => {
  it('When a marker is taken, then it lives under the prefix, a second taker is told it is held, and only its holder ends it', async () => {
    const prefix = `{${uniq('mk')}}`;
    const markers = new Markers(redis, prefix);
    const first = await markers.take('job-1', 10_000);
    expect(first).not.toBe('held');
    expect(await redis.exists(`${prefix}:job-1`)).toBe(1);
    expect(await markers.take('job-1', 10_000)).toBe('held');
    expect(await markers.isHeld('job-1')).toBe(true);

    // Lapsed and taken by another: the first holder's release and extend leave the new holder's marker alone.
    await redis.del(`${prefix}:job-1`);
    const second = await markers.take('job-1', 10_000);
    expect(second).not.toBe('held');
    if (first === 'held' || second === 'held') throw new Error('unreachable');
    await first.release();
    expect(await first.extend(10_000)).toBe(false);
    expect(await markers.isHeld('job-1')).toBe(true);
    await second.release();
    expect(await markers.isHeld('job-1')).toBe(false);
  });

  it('When a holder dies, then its marker lapses by itself', async () => {
    const markers = new Markers(redis, `{${uniq('mk')}}`);
    expect(await markers.take('job-2', 100)).not.toBe('held');
    await eventually(async () => !(await markers.isHeld('job-2')));
  });
});
