import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from '../../src/infra/redis';
import { eventually, uniq } from '../support/harness';
import { recordWrites } from '../support/socket-writes';

/**
 * The Redis connections requests use (failFast: markers, limits, the queues' producers) send the commands issued in
 * one turn of the event loop in one socket write (src/infra/coalesced-writes.ts), also after a reconnect; the BullMQ
 * workers' connections do not.
 */
const clients: Redis[] = [];
afterAll(() => Promise.all(clients.map((c) => closeRedis(c))));

async function ready(options: Parameters<typeof createRedis>[1]): Promise<Redis> {
  const client = createRedis(process.env.REDIS_URL!, options);
  clients.push(client);
  await eventually(async () => client.status === 'ready');
  return client;
}

/** Five commands issued in one turn; the writes that carried them, and their replies. */
async function fiveInOneTurn(client: Redis): Promise<{ writes: string[]; replies: unknown[] }> {
  const key = uniq('coalesce');
  const rec = recordWrites(client.stream);
  try {
    const replies = await Promise.all([
      client.set(`${key}:a`, '1', 'PX', 60_000, 'NX'),
      client.set(`${key}:a`, '2', 'PX', 60_000, 'NX'),
      client.sadd(`${key}:s`, 'x', 'y'),
      client.get(`${key}:a`),
      client.del(`${key}:a`, `${key}:s`),
    ]);
    return { writes: rec.writes.map(String).filter((w) => w.includes(key)), replies };
  } finally {
    rec.stop();
  }
}

describe('coalesced Redis writes', () => {
  it('When a request connection is sent five commands in one turn, then they leave in one write and each gets its reply', async () => {
    const client = await ready({ failFast: true });

    const { writes, replies } = await fiveInOneTurn(client);

    expect(writes).toHaveLength(1);
    expect(replies).toEqual(['OK', null, 2, '1', 2]);
  });

  it('When a request connection reconnects, then its new socket coalesces too', async () => {
    const client = await ready({ failFast: true });
    const before = client.stream;

    client.disconnect(true);
    await eventually(async () => client.status === 'ready' && client.stream !== before);

    const { writes, replies } = await fiveInOneTurn(client);
    expect(writes).toHaveLength(1);
    expect(replies).toEqual(['OK', null, 2, '1', 2]);
  });

  it('When a BullMQ worker connection is sent five commands in one turn, then each leaves in a write of its own', async () => {
    const client = await ready({ forBullmq: true });

    const { writes, replies } = await fiveInOneTurn(client);

    expect(writes).toHaveLength(5);
    expect(replies).toEqual(['OK', null, 2, '1', 2]);
  });
});
