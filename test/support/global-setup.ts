import { recreateDatabase, startLocalServices } from '../../scripts/local-services';

/**
 * Starts the project's own MariaDB and Redis (scripts/services.sh), recreates the test database and applies
 * the migrations to it, exactly as `npm run db:migrate` does. Workers inherit the environment set here.
 */
export default async function globalSetup(): Promise<void> {
  const { databaseUrl, redisUrl } = startLocalServices();
  process.env.DATABASE_URL = await recreateDatabase(databaseUrl, process.env.PAYSVC_TEST_DB ?? 'paysvc_test');
  process.env.REDIS_URL = redisUrl;
}
