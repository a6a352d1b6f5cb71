import path from 'node:path';
import { rssMb, running, startProc, stopProc, waitFor, type Proc } from './processes';
import { SERVICE_NODE_FLAGS } from '../../src/infra/node-flags';

const ROOT = path.resolve(__dirname, '../..');

/** One paysvc process (src/main.ts) of the run, which can be killed -9 and started again on the same ports. */
export class Instance {
  private proc?: Proc;
  starts = 0;

  constructor(
    readonly name: string,
    readonly grpcPort: number,
    readonly httpPort: number,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  get up(): boolean {
    return running(this.proc);
  }

  get rssMb(): number {
    return rssMb(this.proc);
  }

  async start(): Promise<void> {
    this.starts += 1;
    this.proc = startProc(
      'paysvc',
      process.execPath,
      [...SERVICE_NODE_FLAGS, '--import', 'tsx', path.join(__dirname, 'instance-main.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, ...this.env, GRPC_PORT: String(this.grpcPort), HTTP_PORT: String(this.httpPort) },
        log: path.join(this.logDir, `${this.name}.log`),
      },
    );
    const proc = this.proc;
    await waitFor(
      `instance ${this.name} ready`,
      async () => {
        if (!running(proc)) throw new Error(`instance ${this.name} exited at start: see ${path.join(this.logDir, `${this.name}.log`)}`);
        const res = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200;
      },
      90_000,
    );
  }

  /** A crash: SIGKILL, nothing drained. */
  async kill9(): Promise<void> {
    await stopProc(this.proc, 'SIGKILL');
  }

  stop(): Promise<void> {
    return stopProc(this.proc, 'SIGTERM', 10_000);
  }
}
