import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { crc32, createDeflateRaw } from 'node:zlib';

/**
 * A minimal streaming zip writer (deflate, sizes in a data descriptor after each entry's data, no zip64): enough
 * for the statement files the sandboxes serve, and for the million-line bench, whose entries never reach 4 GiB.
 * Names are raw bytes: Alipay's are GBK without the UTF-8 flag (bit 11), which `utf8Name` sets.
 */
export interface ZipSource {
  name: Uint8Array;
  utf8Name?: boolean;
  data: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

const DESCRIPTOR_FLAG = 0x0008;
const UTF8_FLAG = 0x0800;
const DEFLATE = 8;
/** 2026-11-30 09:12:33 as MS-DOS time and date: the entries' modification time does not matter. */
const DOS_TIME = (9 << 11) | (12 << 5) | (33 >> 1);
const DOS_DATE = ((2026 - 1980) << 9) | (11 << 5) | 30;
const LIMIT = 0xffffffff;

interface Written {
  name: Uint8Array;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

export async function writeZip(path: string, entries: readonly ZipSource[]): Promise<void> {
  const file = await open(path, 'w');
  let offset = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    await file.write(bytes);
    offset += bytes.byteLength;
  };
  try {
    const written: Written[] = [];
    for (const entry of entries) {
      const flags = DESCRIPTOR_FLAG | (entry.utf8Name ? UTF8_FLAG : 0);
      const start = offset;
      await write(header(0x04034b50, [20, flags, DEFLATE, DOS_TIME, DOS_DATE], [0, 0, 0], [entry.name.byteLength, 0], entry.name));
      const deflate = createDeflateRaw();
      let compressed = 0;
      const drained = (async () => {
        for await (const chunk of deflate) {
          compressed += (chunk as Buffer).byteLength;
          await write(chunk as Buffer);
        }
      })();
      let crc = 0;
      let size = 0;
      for await (const chunk of entry.data) {
        crc = crc32(chunk, crc);
        size += chunk.byteLength;
        if (!deflate.write(chunk)) await once(deflate, 'drain');
      }
      deflate.end();
      await drained;
      if (size > LIMIT || compressed > LIMIT) throw new RangeError('a zip entry beyond 4 GiB needs zip64, which this writer lacks');
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc >>> 0, 4);
      descriptor.writeUInt32LE(compressed, 8);
      descriptor.writeUInt32LE(size, 12);
      await write(descriptor);
      written.push({ name: entry.name, flags, crc: crc >>> 0, compressed, size, offset: start });
    }
    const directoryStart = offset;
    for (const e of written) {
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      [20, 20, e.flags, DEFLATE, DOS_TIME, DOS_DATE].forEach((v, i) => central.writeUInt16LE(v, 4 + 2 * i));
      central.writeUInt32LE(e.crc, 16);
      central.writeUInt32LE(e.compressed, 20);
      central.writeUInt32LE(e.size, 24);
      central.writeUInt16LE(e.name.byteLength, 28);
      central.writeUInt32LE(e.offset, 42);
      await write(Buffer.concat([central, e.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(written.length, 8);
    end.writeUInt16LE(written.length, 10);
    end.writeUInt32LE(offset - directoryStart, 12);
    end.writeUInt32LE(directoryStart, 16);
    await write(end);
  } finally {
    await file.close();
  }
}

/** A local file header: signature, 16-bit fields, 32-bit crc/sizes, 16-bit name and extra lengths, name. */
function header(signature: number, shorts: number[], longs: number[], lengths: number[], name: Uint8Array): Buffer {
  const fixed = Buffer.alloc(30);
  fixed.writeUInt32LE(signature, 0);
  shorts.forEach((v, i) => fixed.writeUInt16LE(v, 4 + 2 * i));
  longs.forEach((v, i) => fixed.writeUInt32LE(v, 14 + 4 * i));
  lengths.forEach((v, i) => fixed.writeUInt16LE(v, 26 + 2 * i));
  return Buffer.concat([fixed, name]);
}
