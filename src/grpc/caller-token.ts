import { createHash, randomBytes } from 'node:crypto';
import type { CallerConfig } from '../config';

/** A prefix secret scanners can match; then 256 random bits, base64url. */
const TOKEN_PREFIX = 'paysvc_';

export const tokenSha256 = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * A new caller: its token (shown once, never stored) and the entry for PAYSVC_CALLERS(_FILE), which holds only
 * the token's SHA-256.
 */
export function mintCaller(
  name: string,
  grant: { tenants: CallerConfig['tenants']; permissions: CallerConfig['permissions'] },
): { token: string; entry: CallerConfig } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, entry: { name, tokenSha256: tokenSha256(token), tenants: grant.tenants, permissions: grant.permissions } };
}
