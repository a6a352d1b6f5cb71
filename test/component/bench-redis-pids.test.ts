import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { localRedisPids } from '../../bench/services';
import { createRedis } from '../../src/infra/redis';

const redisUrl = process.env.REDIS_URL!;

/** Answers every command (a RESP array) with one INFO text naming `pid` as its process: what a remote Redis would say. */
async function fakeRedis(pid: number): Promise<{ url: string; server: Server }> {
  const info = `# Server\r\nredis_version:7.0.15\r\nprocess_id:${pid}\r\n# Persistence\r\nloading:0\r\n`;
  const server = createServer((socket) => {
    socket.on('data', (data: Buffer) => {
      for (const _command of data.toString('latin1').matchAll(/(?:^|\r\n)\*\d+\r\n/g)) {
        socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("The bench's Redis processes", () => {
  it('When the Redis server runs on this machine, then its pid is the one INFO names, and it is a redis-server', async () => {
    const redis = createRedis(redisUrl);
    try {
      const named = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
      expect(await localRedisPids([redisUrl, redisUrl])).toEqual([named]);
    } finally {
      redis.disconnect();
    }
  });

  it('When a server names a pid that is not a local redis-server, or cannot be reached, then no pid is counted', async () => {
    const fake = await fakeRedis(process.pid); // a node process here: not Redis, so not Redis's CPU
    const closed = await fakeRedis(1);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    try {
      expect(await localRedisPids([fake.url, closed.url])).toEqual([]);
    } finally {
      fake.server.close();
    }
  });
});
