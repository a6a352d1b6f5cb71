import { ConfigError, loadConfig } from '../../src/config';

/** The least an environment needs for loadConfig to accept it. */
export const BASE_ENV = { DATABASE_URL: 'mysql://u:p@127.0.0.1:3306/db', REDIS_URL: 'redis://127.0.0.1:6379' };

/** The ConfigError's message, or '' when the configuration loads. */
export function configProblems(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
}
