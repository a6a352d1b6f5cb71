import { sqlPool, type Db } from '../../src/infra/db';

/** Some of the server's counters for the session of a one-connection client (SHOW SESSION STATUS), by name. */
async function sessionStatus(db: Db, names: readonly string[]): Promise<Record<string, number>> {
  const rows = await sqlPool(db).query<{ Variable_name: string; Value: string }[]>(
    `SHOW SESSION STATUS WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
    names,
  );
  return Object.fromEntries(names.map((name) => [name, Number(rows.find((r) => r.Variable_name === name)!.Value)]));
}

/**
 * Counts what the server ran on a one-connection client: each call returns the statements (`Questions`, which
 * counts an EXECUTE but not its PREPARE) and PREPAREs since the previous call, less the counter's own SHOW (its
 * cost measured once, not assumed).
 */
export async function sessionStatements(db: Db): Promise<() => Promise<{ questions: number; prepares: number }>> {
  const read = async () => {
    const status = await sessionStatus(db, ['Questions', 'Com_stmt_prepare']);
    return { questions: status.Questions, prepares: status.Com_stmt_prepare };
  };
  const first = await read();
  let last = await read();
  const own = last.questions - first.questions; // what one SHOW adds to the count
  return async () => {
    const now = await read();
    const delta = { questions: now.questions - last.questions - own, prepares: now.prepares - last.prepares };
    last = now;
    return delta;
  };
}

/**
 * Internal temporary tables the server made for a one-connection client's session: each call returns how many
 * since the previous call, and how many of them went to disk. The first call's answer counts from the first read.
 */
export async function sessionTempTables(db: Db): Promise<() => Promise<{ tables: number; onDisk: number }>> {
  const read = async () => {
    const status = await sessionStatus(db, ['Created_tmp_tables', 'Created_tmp_disk_tables']);
    return { tables: status.Created_tmp_tables, onDisk: status.Created_tmp_disk_tables };
  };
  let last = await read();
  return async () => {
    const now = await read();
    const delta = { tables: now.tables - last.tables, onDisk: now.onDisk - last.onDisk };
    last = now;
    return delta;
  };
}
