/**
 * How long a one-off connection (the migration runner, an admin or test connection) may take to open. The
 * driver's 1 s is measured by a timer that fires before the socket's connect event when the event loop was busy
 * for that long, so on a loaded machine a connection that had opened was failed (CI: "failed to create socket
 * after 1128ms"). The service's pool sets its own, shorter one (dbPoolConfig): it must fail fast.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The mariadb driver's connection settings from a mysql://user:pass@host:port/db URL: one reading of the URL for
 * the service's pool, the migration runner, and the tooling around them. `database` is undefined when the URL
 * names none (a server-level admin connection).
 */
export function mysqlConnection(databaseUrl: string): {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string | undefined;
  connectTimeout: number;
} {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database || undefined,
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
}
