import type { Express } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The HTTP server and pending "hang" timers of a sandbox gateway; every channel's sandbox uses one. */
export class SandboxServer {
  /** Timers of requests a fault is holding; cleared on close so nothing outlives the sandbox. */
  private readonly hangTimers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;

  /** Holds a request this long (a `hang` fault), so the caller times out first; never resolves once closed. */
  hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.hangTimers.delete(timer);
        resolve();
      }, ms);
      this.hangTimers.add(timer);
    });
  }

  /** Listens (port 0 = ephemeral) and resolves with the base URL. */
  async listen(app: Express, port: number, host = '127.0.0.1'): Promise<string> {
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  async close(): Promise<void> {
    for (const timer of this.hangTimers) clearTimeout(timer);
    this.hangTimers.clear();
    const closing = this.server;
    this.server = undefined;
    if (!closing) return;
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  }
}
