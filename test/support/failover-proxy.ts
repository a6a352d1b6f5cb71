import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What HAProxy does in front of a Galera cluster with one active server and the others as `backup`: each new
 * client connection goes to the first target that accepts it, so when the active node dies (its connections
 * reset, new ones refused) the pool's next connections reach a surviving node. The service sees one address.
 */
export class FailoverProxy {
  private readonly sockets = new Set<Socket>();
  /** Connections opened per target, in the targets' order. */
  readonly opened: number[];

  private constructor(
    private readonly server: Server,
    private readonly targets: { host: string; port: number }[],
    readonly port: number,
  ) {
    this.opened = targets.map(() => 0);
  }

  static async start(targets: { host: string; port: number }[]): Promise<FailoverProxy> {
    const accepting: { proxy?: FailoverProxy } = {};
    const server = createServer((client) => accepting.proxy?.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    accepting.proxy = new FailoverProxy(server, targets, (server.address() as { port: number }).port);
    return accepting.proxy;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private accept(client: Socket, from = 0): void {
    if (from === 0) {
      this.track(client);
      client.pause();
    }
    if (from >= this.targets.length) return void client.destroy();
    const target = this.targets[from];
    const upstream = connect(target.port, target.host);
    let connected = false;
    upstream.once('error', () => {
      if (!connected) this.accept(client, from + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      this.opened[from] += 1;
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
