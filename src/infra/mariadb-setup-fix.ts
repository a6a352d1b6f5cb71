/**
 * A fix for mariadb 3.4.5 (the version @prisma/adapter-mariadb pins), fixed upstream in 3.5: when a new connection
 * fails after its handshake, in the driver's own set-up statements (the session variables, the time zone, our
 * initSql), `authSucceedHandler` hands the error to connect()'s caller (the pool counts the failure and tries again)
 * and then returns `Promise.reject(err)` from a promise chain nobody holds. Node 20 ends the process on an
 * unhandled rejection, so a database that drops connections while the pool opens them would kill the service
 * (the fault suite saw it: "Error executing initial sql command: read ECONNRESET").
 *
 * Each set-up step is wrapped so that, while the connection is still being set up (status INIT_CMD), its failure
 * is handed to the pool exactly as the driver's own handler does (authFailHandler; a non-fatal error ends the
 * connection first) and the chain then stays pending instead of rejecting: the same outcome without the orphan.
 * The same steps run again on a pooled connection's reset (status CONNECTED), where they are left untouched.
 * Applied only to the version it was written for; test/component/db-init-cut.test.ts proves it.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
interface DriverConnection {
  status: number;
  authFailHandler(err: unknown): void;
  end(resolve: () => void, reject: () => void): void;
}
type Step = (this: DriverConnection, ...args: unknown[]) => Promise<unknown>;

const SET_UP_STEPS = [
  'executeSessionVariableQuery',
  'handleCharset',
  'handleTimezone',
  'checkServerVersion',
  'executeInitQuery',
  'executeSessionTimeout',
] as const;

let applied = false;

export function fixDriverSetupRejections(): void {
  if (applied) return;
  applied = true;
  const { version } = require('mariadb/package.json') as { version: string };
  if (version !== '3.4.5') return;
  const Connection = require('mariadb/lib/connection.js') as { prototype: Record<string, Step> };
  const { Status } = require('mariadb/lib/const/connection_status.js') as { Status: { INIT_CMD: number } };
  for (const name of SET_UP_STEPS) {
    const step = Connection.prototype[name];
    if (typeof step !== 'function') continue;
    Connection.prototype[name] = function (this: DriverConnection, ...args: unknown[]): Promise<unknown> {
      const settingUp = this.status === Status.INIT_CMD;
      const result = step.apply(this, args);
      if (!settingUp) return result;
      return result.catch((err: { fatal?: boolean }) => {
        if (err?.fatal) this.authFailHandler(err);
        else {
          const fail = () => this.authFailHandler(err);
          this.end(fail, fail);
        }
        return new Promise<never>(() => undefined); // the pool has the error; nothing else may reject
      });
    };
  }
}
