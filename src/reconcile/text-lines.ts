import { StatementFormatError } from './errors';

/**
 * Bytes → text → lines, streaming: memory holds one chunk and one partial line, whatever the file's size.
 * Lines end in LF or CRLF (both channels write CRLF); the final line may lack one. Lines come in batches (one
 * per chunk) so a million-line file does not cost a million awaits.
 */
export async function* decodeText(bytes: AsyncIterable<Uint8Array>, encoding: 'gbk' | 'utf-8', file: string): AsyncGenerator<string, void> {
  // fatal: bytes that are not valid in the encoding are an error, never U+FFFD in an id or an amount.
  // The default ignoreBOM=false drops a leading UTF-8 BOM (WeChat's).
  const decoder = new TextDecoder(encoding, { fatal: true });
  let offset = 0;
  try {
    for await (const chunk of bytes) {
      yield decoder.decode(chunk, { stream: true });
      offset += chunk.byteLength;
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } catch (err) {
    // Checked by code: Node's TypeError may come from another realm (a test's VM context).
    if ((err as { code?: unknown }).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw err;
    throw new StatementFormatError('ENCODING', `bytes near offset ${offset} are not valid ${encoding}`, { file });
  }
}

/** No real line comes near this; a file without line breaks is refused before it fills memory. */
const MAX_LINE_CHARS = 64 * 1024;

export async function* lineBatches(text: AsyncIterable<string>, file: string): AsyncGenerator<string[], void> {
  let partial = '';
  let count = 0;
  for await (const chunk of text) {
    const lines: string[] = [];
    let start = 0;
    const data = partial + chunk;
    for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
      const end = nl > start && data.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(data.slice(start, end));
      start = nl + 1;
    }
    partial = data.slice(start);
    count += lines.length;
    if (partial.length > MAX_LINE_CHARS) {
      throw new StatementFormatError('FORMAT', `longer than ${MAX_LINE_CHARS} characters`, { file, line: count + 1 });
    }
    if (lines.length) yield lines;
  }
  if (partial) yield [partial.endsWith('\r') ? partial.slice(0, -1) : partial];
}

/** A Uint8Array (a whole file in memory) as a one-chunk stream. */
export async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array, void> {
  yield bytes;
}
