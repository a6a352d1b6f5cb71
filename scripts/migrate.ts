// `npm run db:migrate`: applies pending prisma/migrations to DATABASE_URL, as `prisma migrate deploy` would.
import { migrate } from '../src/infra/migrate';

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new Error(
      'DATABASE_URL is not set; export it as mysql://user:password@host:port/database ' +
        '(`bash scripts/services.sh env` prints the local one)',
    );
  }
  const { applied } = await migrate(databaseUrl, (msg) => console.log(msg));
  console.log(
    applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date: no pending migrations',
  );
}

main().catch((err: unknown) => {
  console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
