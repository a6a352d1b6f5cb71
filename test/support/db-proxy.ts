import { mysqlConnection } from '../../src/infra/mysql-url';
import { startHarness, type Harness } from './harness';
import { TcpProxy } from './tcp-proxy';

/**
 * A service whose database connections all go through a TCP proxy of its own in front of the shared MariaDB, so a
 * test can take "the database" down (`proxy.down()`) for this service alone. `close()` brings the proxy back first,
 * so the service closes cleanly, then ends both.
 */
export async function harnessBehindDbProxy(
  env: Record<string, string> = {},
): Promise<{ h: Harness; proxy: TcpProxy; close: () => Promise<void> }> {
  const url = new URL(process.env.DATABASE_URL!);
  const target = mysqlConnection(url.toString());
  const proxy = await TcpProxy.start({ host: target.host, port: target.port });
  url.host = `127.0.0.1:${proxy.port}`;
  const h = await startHarness({ DATABASE_URL: url.toString(), ...env });
  const close = async () => {
    await proxy.up().catch(() => undefined);
    await h.close();
    await proxy.down();
  };
  return { h, proxy, close };
}
