import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { StatementFormatError } from '../../../reconcile/errors';
import { oneChunk } from '../../../reconcile/text-lines';

/** A downloaded bill: the whole body in memory, or a stream of it (a file's read stream, a response body). */
export type BillBytes = Uint8Array | AsyncIterable<Uint8Array>;

export function billChunks(bytes: BillBytes): AsyncIterable<Uint8Array> {
  return bytes instanceof Uint8Array ? oneChunk(bytes) : bytes;
}

/**
 * The bill's original bytes: gunzipped when the body starts with gzip's magic bytes (1f 8b; asked for with
 * tar_type=GZIP), else as they came. A plain bill starts with a BOM or a Chinese header, never 1f 8b.
 */
export async function* originalBytes(bytes: BillBytes, file: string): AsyncGenerator<Uint8Array, void> {
  const it = billChunks(bytes)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    headLength += next.value.byteLength;
  }
  async function* all(): AsyncGenerator<Uint8Array, void> {
    yield* head;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  const first = Buffer.concat(head);
  if (first[0] !== 0x1f || first[1] !== 0x8b) return yield* all();
  const gunzip = createGunzip();
  pipeline(Readable.from(all()), gunzip, () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    throw new StatementFormatError('ENCODING', `not a complete gzip stream: ${(err as Error).message}`, { file });
  }
}

/** Passes bytes through while hashing them; `digest()` once they have all passed. */
export class HashingTap {
  private readonly hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }

  async *tap(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void> {
    for await (const chunk of bytes) {
      this.hash.update(chunk);
      yield chunk;
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
