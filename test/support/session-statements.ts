import { sqlPool, type Db } from '../../src/infra/db';

/**
 * Counts what the server ran on a one-connection client: each call returns the statements (`Questions`, which
 * counts an EXECUTE but not its PREPARE) and PREPAREs since the previous call, less the counter's own SHOW (its
 * cost measured once, not assumed).
 */
export async function sessionStatements(db: Db): Promise<() => Promise<{ questions: number; prepares: number }>> {
  const pool = sqlPool(db);
  const read = async () => {
    const rows = await pool.query<{ Variable_name: string; Value: string }[]>(
      "SHOW SESSION STATUS WHERE Variable_name IN ('Questions', 'Com_stmt_prepare')",
    );
    const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)!.Value);
    return { questions: value('Questions'), prepares: value('Com_stmt_prepare') };
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
