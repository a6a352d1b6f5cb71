import { StatementFormatError } from '../../../reconcile/errors';
import { HashingTap, originalBytes, type BillBytes } from './bytes';

/** What `GET /v3/bill/tradebill` answers next to download_url. */
export interface BillDigest {
  hashType: string;
  hashValue: string;
}

/** hash_type → node:crypto's name. WeChat documents SHA1 only. */
const ALGORITHMS: Record<string, string> = { SHA1: 'sha1' };

export function hashAlgorithm(digest: BillDigest, file: string): string {
  const algorithm = ALGORITHMS[digest.hashType.toUpperCase()];
  if (!algorithm) throw new StatementFormatError('HASH', `unsupported hash_type ${JSON.stringify(digest.hashType)}`, { file });
  return algorithm;
}

/** Throws HASH unless `actual` (hex) is the announced hash_value; hex case does not matter. */
export function assertDigest(digest: BillDigest, actual: string, file: string): void {
  if (digest.hashValue.toLowerCase() !== actual.toLowerCase()) {
    throw new StatementFormatError('HASH', `hash_value says ${digest.hashType} ${digest.hashValue}, the bill's is ${actual}`, { file });
  }
}

/**
 * Checks a downloaded bill against the digest `tradebill` announced: SHA-1 of the ORIGINAL bill, so a gzip body
 * is gunzipped first ("原始账单（gzip需要解压缩）的摘要值"). Streams; returns the digest. The download itself
 * carries no response signature, so this is the only integrity check there is: refuse the file on a mismatch.
 */
export async function verifyWechatBill(bytes: BillBytes, digest: BillDigest, file = 'wechat bill'): Promise<string> {
  const tap = new HashingTap(hashAlgorithm(digest, file));
  for await (const _ of tap.tap(originalBytes(bytes, file))) {
    // The tap hashes as the bytes pass.
  }
  const actual = tap.digest();
  assertDigest(digest, actual, file);
  return actual;
}
