import type { Express } from 'express';
import type { Fault, FaultBook } from './faults';
import type { SandboxServer } from './server';

/** What every sandbox offers whoever starts it (scripts, tests, the bench), whatever its channel. */
export interface Sandbox<F extends Fault> {
  readonly app: Express;
  /** Starts an HTTP server for `app` (port 0 = ephemeral) and resolves with its base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops notify and hang timers, and the server started by `listen`. */
  close(): Promise<void>;
  inject(fault: F, times?: number): void;
  clearFaults(): void;
  /** Notify deliveries still to come or on the wire; tests wait for 0 before asserting what was not sent. */
  notifiesPending(): number;
}

/** The part of a sandbox that is the same for every channel: its server, fault switches and notifier. */
export function sandboxBasics<F extends Fault>(
  app: Express,
  parts: { http: SandboxServer; faults: FaultBook<F>; notifier: { readonly pending: number; close(): void } },
): Sandbox<F> {
  const { http, faults, notifier } = parts;
  return {
    app,
    listen: (port, host) => http.listen(app, port, host),
    close: async () => {
      notifier.close();
      await http.close();
    },
    inject: (fault, times) => faults.inject(fault, times),
    clearFaults: () => faults.clear(),
    notifiesPending: () => notifier.pending,
  };
}
