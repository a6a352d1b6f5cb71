import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { StatementFormatError } from '../../../reconcile/errors';

/**
 * Alipay's trade bill is a zip (`<PID>0156_<yyyyMMdd>.csv.zip`) of GBK CSVs whose names are GBK too, without the
 * zip's UTF-8 flag; yauzl would read them as CP437 (and refuse the ones whose GBK bytes hold a backslash), so
 * names are taken raw and decoded here. A zip's directory is at its end: it is read from a file, not a socket.
 */
export interface ZipEntryReader {
  /** Entry names, decoded (GBK unless the entry carries the UTF-8 flag). */
  names: string[];
  /** The entry's uncompressed bytes as a stream; yauzl checks its size and CRC as it ends. */
  open(name: string): AsyncIterable<Uint8Array>;
  close(): void;
}

const UTF8_FLAG = 0x800;

export async function openZip(path: string, file: string): Promise<ZipEntryReader> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, decodeStrings: false, autoClose: false }, (err, z) => (err ? reject(err) : resolve(z))),
  ).catch((err: Error) => {
    throw new StatementFormatError('ENCODING', `not a readable zip: ${err.message}`, { file });
  });
  const entries = new Map<string, yauzl.Entry>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        const raw = entry.fileNameRaw;
        const utf8 = (entry.generalPurposeBitFlag & UTF8_FLAG) !== 0;
        entries.set(new TextDecoder(utf8 ? 'utf-8' : 'gbk').decode(raw), entry);
        zip.readEntry();
      });
      zip.once('end', () => resolve());
      zip.once('error', reject);
      zip.readEntry();
    });
  } catch (err) {
    zip.close();
    throw new StatementFormatError('ENCODING', `zip directory unreadable: ${(err as Error).message}`, { file });
  }
  return {
    names: [...entries.keys()],
    open: (name) => readEntry(zip, entries.get(name)!, name),
    close: () => zip.close(),
  };
}

async function* readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): AsyncGenerator<Uint8Array, void> {
  try {
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))),
    );
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof StatementFormatError) throw err;
    throw new StatementFormatError('ENCODING', `zip entry unreadable: ${(err as Error).message}`, { file: name });
  }
}
