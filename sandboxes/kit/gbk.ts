/**
 * A GBK encoder for the statement files the sandboxes write (Alipay's CSVs and their zip entry names). Node
 * decodes GBK (TextDecoder, full ICU) but only encodes UTF-8, so the table is built once by decoding every
 * two-byte GBK code; no dependency.
 */
let table: Map<number, number> | undefined;

function gbkTable(): Map<number, number> {
  if (table) return table;
  const decoder = new TextDecoder('gbk');
  const built = new Map<number, number>();
  const pair = new Uint8Array(2);
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      pair[0] = lead;
      pair[1] = trail;
      const text = decoder.decode(pair);
      if (text.length === 1 && text !== '\ufffd' && !built.has(text.charCodeAt(0))) built.set(text.charCodeAt(0), (lead << 8) | trail);
    }
  }
  table = built;
  return built;
}

/** Throws on a character GBK cannot hold. */
export function encodeGbk(text: string): Buffer {
  const codes = gbkTable();
  const out = Buffer.allocUnsafe(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    const code = codes.get(c);
    if (code === undefined) throw new RangeError(`U+${c.toString(16).toUpperCase()} has no GBK code`);
    out[n++] = code >> 8;
    out[n++] = code & 0xff;
  }
  return out.subarray(0, n);
}
