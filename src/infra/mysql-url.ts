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
} {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database || undefined,
  };
}
