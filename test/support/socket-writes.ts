import type { Writable } from 'node:stream';

type Chunk = { chunk: Buffer | string };
type WriteFn = (chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void) => void;
type WritevFn = (chunks: Chunk[], cb: (err?: Error | null) => void) => void;

/**
 * The writes a stream hands down to its handle (a socket's `_write` or `_writev`: one system call each, or one
 * libuv write request), each as the bytes it carried, until `stop()`.
 */
export function recordWrites(stream: Writable): { writes: Buffer[]; stop: () => void } {
  const s = stream as Writable & { _write: WriteFn; _writev?: WritevFn };
  const writes: Buffer[] = [];
  const own = { write: Object.hasOwn(s, '_write'), writev: Object.hasOwn(s, '_writev') };
  const write = s._write;
  const writev = s._writev;
  const bytes = (c: Buffer | string): Buffer => (typeof c === 'string' ? Buffer.from(c) : c);
  s._write = function (this: Writable, chunk, encoding, cb) {
    writes.push(Buffer.from(bytes(chunk)));
    write.call(this, chunk, encoding, cb);
  };
  if (writev) {
    s._writev = function (this: Writable, chunks, cb) {
      writes.push(Buffer.concat(chunks.map((c) => bytes(c.chunk))));
      writev.call(this, chunks, cb);
    };
  }
  return {
    writes,
    stop: () => {
      if (own.write) s._write = write;
      else delete (s as Partial<typeof s>)._write;
      if (own.writev) s._writev = writev;
      else delete (s as Partial<typeof s>)._writev;
    },
  };
}
