import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mintCaller, tokenSha256 } from '../src/grpc/caller-token';

/** Where `npm run dev` keeps the development caller's token (under the git-ignored data dir), for `npm run demo`. */
export const DEV_TOKEN_FILE = path.join(process.env.PAYSVC_DATA_DIR ?? path.resolve(__dirname, '../.data'), 'dev-caller.token');

const TOKEN = /^paysvc_[A-Za-z0-9_-]{43}$/;

/** The development caller's token, if `npm run dev` made one. */
export function readDevToken(): string | undefined {
  const token = existsSync(DEV_TOKEN_FILE) ? readFileSync(DEV_TOKEN_FILE, 'utf8').trim() : '';
  return TOKEN.test(token) ? token : undefined;
}

/**
 * The callers `npm run dev` runs with: the ones configured, if any; otherwise the development caller "dev" (every
 * tenant, pay and operate), whose token is minted once and kept in DEV_TOKEN_FILE (mode 0600) across runs.
 */
export function devCallerEnv(env: NodeJS.ProcessEnv): { env: Record<string, string>; token?: string } {
  if (env.PAYSVC_CALLERS || env.PAYSVC_CALLERS_FILE || env.PAYSVC_AUTH_DISABLED === 'true') return { env: {} };
  let token = readDevToken();
  if (!token) {
    token = mintCaller('dev', { tenants: '*', permissions: ['pay', 'operate'] }).token;
    mkdirSync(path.dirname(DEV_TOKEN_FILE), { recursive: true });
    writeFileSync(DEV_TOKEN_FILE, `${token}\n`, { mode: 0o600 });
  }
  const caller = { name: 'dev', tokenSha256: tokenSha256(token), tenants: '*', permissions: ['pay', 'operate'] };
  return { env: { PAYSVC_CALLERS: JSON.stringify([caller]) }, token };
}
