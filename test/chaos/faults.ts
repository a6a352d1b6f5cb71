import type { Channels } from './channels';
import type { OrderSide } from './consumer';
import type { Instance } from './instances';
import { sleep } from './processes';
import type { PrivateMariaDb, PrivateRedis } from './stores';

export interface FaultEnv {
  instances: Instance[];
  db: PrivateMariaDb;
  redis: PrivateRedis;
  channels: Channels;
  consumer: OrderSide;
  /** paysvc's internal queue prefix (QUEUE_PREFIX), whose keys the flush removes. */
  queuePrefix: string;
  log: (line: string) => void;
}

interface Fault {
  /** Seconds into each minute of load. */
  at: number;
  name: string;
  run(env: FaultEnv): Promise<string>;
}

const FOREVER = 1_000_000;

/** Channel faults that stay on for `ms`, then are cleared (with whatever else was pending on that sandbox). */
const forAWhile = async (sandbox: { clearFaults(): void }, inject: () => void, ms: number): Promise<void> => {
  inject();
  await sleep(ms);
  sandbox.clearFaults();
};

/**
 * kill -9, then a start after `downMs` (tried again while it fails: an instance cannot start while MariaDB is
 * down, as a real one would be restarted by its supervisor).
 */
const restartInstance = async (env: FaultEnv, i: number, downMs: number): Promise<string> => {
  const instance = env.instances[i];
  await instance.kill9();
  await sleep(downMs);
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    try {
      await instance.start();
      return `${instance.name} back in ${((Date.now() - started) / 1000).toFixed(1)} s${tries > 1 ? ` (${tries} starts)` : ''}`;
    } catch (err) {
      if (tries >= 5) throw err;
      await sleep(1000);
    }
  }
};

/** One minute's schedule; a longer run repeats it. Each fault at least once in the short run. */
const SCHEDULE: Fault[] = [
  {
    at: 3,
    name: 'notify storm (duplicates, out of order, drops)',
    run: async ({ channels }) => {
      channels.mock.inject({ kind: 'duplicateNotify' }, 20);
      channels.mock.inject({ kind: 'dropNotify' }, 5);
      channels.alipay.inject({ kind: 'duplicateNotify' }, 20);
      channels.alipay.inject({ kind: 'outOfOrderNotify' }, 3);
      channels.wechat.inject({ kind: 'duplicateNotify' }, 20);
      channels.wechat.inject({ kind: 'outOfOrderNotify', holdMs: 3000 }, 5);
      return 'mock, alipay, wechat';
    },
  },
  {
    at: 7,
    name: 'mock channel answers 500 for 4 s',
    run: async ({ channels }) => {
      await forAWhile(channels.mock, () => channels.mock.inject({ kind: 'serverError' }, FOREVER), 4000);
      return 'cleared';
    },
  },
  { at: 11, name: 'kill -9 instance b (workers), restart', run: (env) => restartInstance(env, 1, 2000) },
  {
    at: 18,
    name: 'Redis restarted (down 2 s)',
    run: async ({ redis }) => {
      await redis.restart(2000);
      return 'back';
    },
  },
  {
    at: 23,
    name: 'WeChat Pay sandbox hangs (4 s per call) for 5 s',
    run: async ({ channels }) => {
      await forAWhile(channels.wechat, () => channels.wechat.inject({ kind: 'hang', ms: 4000 }, FOREVER), 5000);
      return 'cleared';
    },
  },
  {
    at: 28,
    name: 'order-side consumer down for 10 s',
    run: async ({ consumer }) => {
      await consumer.stop();
      await sleep(10_000);
      consumer.start();
      return 'back';
    },
  },
  {
    at: 31,
    name: 'MariaDB restarted (down 2 s)',
    run: async ({ db }) => {
      const started = Date.now();
      await db.restart(2000);
      return `back after ${((Date.now() - started) / 1000).toFixed(1)} s`;
    },
  },
  { at: 40, name: 'kill -9 instance c (no workers), restart', run: (env) => restartInstance(env, 2, 1000) },
  {
    at: 44,
    name: 'Alipay sandbox answers 503 for 5 s',
    run: async ({ channels }) => {
      await forAWhile(channels.alipay, () => channels.alipay.inject({ kind: 'serverError', status: 503 }, FOREVER), 5000);
      return 'cleared';
    },
  },
  {
    at: 50,
    name: "Redis loses paysvc's job keys (flush of the queue prefix)",
    run: async ({ redis, queuePrefix }) => `${await redis.flushPrefix(queuePrefix)} keys deleted`,
  },
  { at: 53, name: 'kill -9 instance a (workers), restart', run: (env) => restartInstance(env, 0, 1000) },
];

export interface InjectedFault {
  at: number;
  name: string;
  outcome: string;
}

/**
 * Runs the schedule from `start` until `until` (scaled to the run when it is shorter than a minute): each fault
 * starts at its time, whether or not the one before has ended (a restart may overlap an outage, as in life).
 * Resolves once every fault has ended, with what was injected when.
 */
export async function runFaults(env: FaultEnv, start: number, until: number): Promise<InjectedFault[]> {
  const injected: InjectedFault[] = [];
  const running: Promise<void>[] = [];
  const minute = Math.min(60_000, until - start);
  for (let cycle = 0; ; cycle++) {
    for (const fault of SCHEDULE) {
      const at = start + cycle * 60_000 + (fault.at * minute) / 60;
      if (at >= until) {
        await Promise.all(running);
        return injected.sort((a, b) => a.at - b.at);
      }
      if (at > Date.now()) await sleep(at - Date.now());
      const t = (Date.now() - start) / 1000;
      env.log(`fault at ${t.toFixed(0)} s: ${fault.name}`);
      running.push(
        fault.run(env).then(
          (outcome) => void injected.push({ at: t, name: fault.name, outcome }),
          (err: unknown) =>
            void injected.push({
              at: t,
              name: fault.name,
              outcome: `FAILED TO INJECT: ${err instanceof Error ? err.message : String(err)}`,
            }),
        ),
      );
    }
  }
}
