import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import { mysqlConnection } from './mysql-url';

/** Prisma's migrations folder: one sub-folder per migration, each holding a migration.sql. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

/** The named lock `prisma migrate` takes on MySQL, so this runner and the Prisma CLI exclude each other too. */
const LOCK_NAME = 'prisma_migrate';
const LOCK_TIMEOUT_SECONDS = 60;

/** Prisma's bookkeeping table, as its schema engine creates it on MySQL. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

interface LocalMigration {
  name: string;
  script: string;
  checksum: string;
}

interface RecordedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies the migrations under prisma/migrations that the database has not seen yet, in name order, and records
 * each in _prisma_migrations the way `prisma migrate deploy` does, so the two can take turns on one database.
 * Refuses to run when an applied migration.sql was edited or an earlier migration failed half-way.
 */
export async function migrate(
  databaseUrl: string,
  log: (msg: string) => void = () => {},
  opts: { before?: string } = {},
): Promise<{ applied: string[] }> {
  const conn = await connect(databaseUrl);
  try {
    await acquireLock(conn);
    await conn.query(CREATE_MIGRATIONS_TABLE);
    const recorded: RecordedMigration[] = await conn.query(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
    );
    // `before` stops short of a migration (tests of what it does to data written under the ones before it).
    const local = readMigrations().filter((m) => opts.before === undefined || m.name < opts.before);
    const pending = pendingMigrations(local, recorded);
    for (const migration of pending) {
      log(`applying migration ${migration.name}`);
      await apply(conn, migration);
    }
    return { applied: pending.map((m) => m.name) };
  } finally {
    await conn.end(); // also lets go of the lock
  }
}

function connect(databaseUrl: string): Promise<Connection> {
  const options = mysqlConnection(databaseUrl);
  if (!options.database) throw new Error('the database URL names no database: expected mysql://user:password@host:port/database');
  return createConnection({ ...options, multipleStatements: true });
}

async function acquireLock(conn: Connection): Promise<void> {
  const [row] = await conn.query<{ locked: number | bigint | null }[]>('SELECT GET_LOCK(?, ?) AS locked', [
    LOCK_NAME,
    LOCK_TIMEOUT_SECONDS,
  ]);
  if (Number(row.locked) !== 1) {
    throw new Error(`another migration still holds the '${LOCK_NAME}' lock after ${LOCK_TIMEOUT_SECONDS}s; try again`);
  }
}

function readMigrations(): LocalMigration[] {
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'));
      return { name, script: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

function pendingMigrations(local: LocalMigration[], recorded: RecordedMigration[]): LocalMigration[] {
  const failed = recorded.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `migration ${failed.migration_name} failed earlier and is recorded as unfinished in _prisma_migrations; ` +
        'repair the database by hand, then mark it rolled back (`prisma migrate resolve --rolled-back`) or ' +
        'applied (`--applied`) before migrating again',
    );
  }
  const applied = new Map(
    recorded.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r.checksum]),
  );
  const edited = local.filter((m) => applied.has(m.name) && applied.get(m.name) !== m.checksum);
  if (edited.length > 0) {
    throw new Error(
      `migration ${edited.map((m) => m.name).join(', ')} was edited after it was applied (its checksum no longer ` +
        'matches _prisma_migrations); restore the applied migration.sql and put the change in a new migration',
    );
  }
  return local.filter((m) => !applied.has(m.name));
}

/** Records the start, runs the script, then records the end; a failure leaves the row unfinished with its logs. */
async function apply(conn: Connection, migration: LocalMigration): Promise<void> {
  const id = randomUUID();
  await conn.query('INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES (?, ?, UTC_TIMESTAMP(3), ?)', [
    id,
    migration.checksum,
    migration.name,
  ]);
  try {
    await conn.query(migration.script);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await conn.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [message, id]);
    throw new Error(`migration ${migration.name} failed: ${message}`, { cause: err });
  }
  await conn.query('UPDATE _prisma_migrations SET finished_at = UTC_TIMESTAMP(3), applied_steps_count = 1 WHERE id = ?', [id]);
}
