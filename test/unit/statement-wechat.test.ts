import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseWechatBill, verifyWechatBill, type BillBytes } from '../../src/channels/wechat/statement';
import { wechatBillBytes, writeWechatBill } from '../../sandboxes/wechat/statement-file';
import { dayOfRows, expectedLines, readStatement, refusal, sample, scratchDir, withoutLineNumbers } from '../support/statements';

const scratch = scratchDir();
const BILL = sample('wechat-all-27.txt');
const HOSTILE_ROW = sample('wechat-hostile-row.txt').trimEnd();
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');

const parse = (bytes: BillBytes) => readStatement(parseWechatBill(bytes));
const refused = (text: string) => refusal(() => parse(utf8(text)));
/** The sample with line `index` (0-based) edited cell by cell. */
const editLine = (index: number, edit: (cells: string[]) => void, text = BILL): string => {
  const lines = text.split('\r\n');
  const cells = lines[index].slice(1).split(',`');
  edit(cells);
  lines[index] = `\`${cells.join(',`')}`;
  return lines.join('\r\n');
};

const PAYMENT = {
  channel: 'wechat',
  kind: 'payment',
  outTradeNo: 'T20261129000001',
  channelTradeNo: '4200000000202611290000000001',
  amount: 8888n,
  settledAmount: 8888n,
  feeMilliFen: 53_000n,
  currency: 'CNY',
  status: 'SUCCESS',
  occurredAt: new Date('2026-11-29T02:00:09Z'),
  line: 2,
};
const REFUND = {
  ...PAYMENT,
  kind: 'refund',
  outRefundNo: 'R20261129000001',
  channelRefundNo: '50300000002026112900000000001',
  amount: 1000n,
  settledAmount: 1000n,
  feeMilliFen: 0n,
  occurredAt: new Date('2026-11-29T07:30:00Z'),
  line: 3,
};

/** The 24-column layout: the header and every row without 订单金额, 申请退款金额, 费率备注; a 5-figure summary. */
function toOldLayout(text: string): string {
  const lines = text.split('\r\n');
  return lines
    .map((line, i) => {
      if (line === '') return line;
      const sep = line.startsWith('`') ? ',`' : ',';
      const cells = line.split(sep);
      const isSummary = i >= lines.length - 3;
      return cells.slice(0, isSummary ? 5 : 24).join(sep);
    })
    .join('\r\n');
}

describe('WeChat Pay v3 trade bill (ALL)', () => {
  it('When the research sample is read, then it gives the payment and its refund row, and every summary figure was checked', async () => {
    const { lines, summary } = await parse(utf8(BILL));
    expect(lines).toEqual([PAYMENT, REFUND]);
    expect(summary).toEqual({
      channel: 'wechat',
      payments: { count: 1, amount: 8888n, settledAmount: 8888n, feeMilliFen: 53_000n },
      refunds: { count: 1, amount: 1000n, settledAmount: 1000n, feeMilliFen: 0n },
      checked: [
        '总交易单数=2',
        '应结订单总金额=88.88',
        '退款总金额=10.00',
        '充值券退款总金额=0.00',
        '手续费总金额=0.53000',
        '订单总金额=88.88',
        '申请退款总金额=10.00',
      ],
    });
  });

  it('When a product name and the attach hold commas (the hostile row), then the split on "`,`" keeps every column', async () => {
    const lines = BILL.split('\r\n');
    lines.splice(3, 0, HOSTILE_ROW);
    lines[5] = '`3,`89.88,`10.00,`0.00,`0.54000,`89.88,`10.00';
    const { lines: parsed } = await parse(utf8(lines.join('\r\n')));
    expect(parsed[2]).toMatchObject({ outTradeNo: 'T20261129000002', amount: 100n, feeMilliFen: 1000n, line: 4 });
  });

  it('When the merchant has the 24-column layout and a 5-figure summary, then the same lines come out', async () => {
    const { lines, summary } = await parse(utf8(toOldLayout(BILL)));
    expect(lines).toEqual([PAYMENT, REFUND]);
    expect(summary.checked).toEqual([
      '总交易单数=2',
      '应结订单总金额=88.88',
      '退款总金额=10.00',
      '充值券退款总金额=0.00',
      '手续费总金额=0.53000',
    ]);
  });

  it.each([
    ['without the BOM', (t: string) => t.replace('\ufeff', '')],
    ['with LF line ends', (t: string) => t.replace(/\r\n/g, '\n')],
    ['without the final line break', (t: string) => t.replace(/\r\n$/, '')],
    ['with the summary figures written 2.0 and 0.0', (t: string) => t.replace('`2,`88.88,`10.00,`0.00,', '`2.0,`88.88,`10.0,`0.0,')],
  ])('When the bill comes %s, then the same lines come out', async (_, edit) => {
    expect((await parse(utf8(edit(BILL)))).lines).toEqual([PAYMENT, REFUND]);
  });

  it('When the body arrives one byte at a time (split characters and CRLFs), then the same lines come out', async () => {
    async function* bytewise(): AsyncGenerator<Uint8Array> {
      for (const byte of utf8(BILL)) yield Uint8Array.of(byte);
    }
    expect((await parse(bytewise())).lines).toEqual([PAYMENT, REFUND]);
  });

  it('When the body is gzip (tar_type=GZIP), then it is detected by its magic bytes and read the same', async () => {
    expect((await parse(gzipSync(utf8(BILL)))).lines).toEqual([PAYMENT, REFUND]);
  });

  it('When hash_value is the SHA-1 of the original bill, then plain and gzip bodies pass; hex case does not matter', async () => {
    const original = utf8(BILL);
    const hashValue = sha1(original);
    await expect(verifyWechatBill(original, { hashType: 'SHA1', hashValue })).resolves.toBe(hashValue);
    await expect(verifyWechatBill(gzipSync(original), { hashType: 'sha1', hashValue: hashValue.toUpperCase() })).resolves.toBe(hashValue);
    const { lines } = await readStatement(parseWechatBill(gzipSync(original), { digest: { hashType: 'SHA1', hashValue } }));
    expect(lines).toHaveLength(2);
  });

  it('When hash_value was computed over the compressed bytes (7.5b), then the check refuses it, naming both digests', async () => {
    const gzipped = gzipSync(utf8(BILL));
    const wrong = { hashType: 'SHA1', hashValue: sha1(gzipped) };
    const refusedWith = await refusal(() => verifyWechatBill(gzipped, wrong));
    expect(refusedWith).toMatchObject({ problem: 'HASH' });
    expect(refusedWith.message).toContain(wrong.hashValue);
    expect(refusedWith.message).toContain(sha1(utf8(BILL)));
    expect(await refusal(() => readStatement(parseWechatBill(gzipped, { digest: wrong })))).toMatchObject({ problem: 'HASH' });
  });

  it('When the hash_type is not SHA1, then it is refused before any byte is read', async () => {
    expect(await refusal(() => verifyWechatBill(utf8(BILL), { hashType: 'MD5', hashValue: 'x' }))).toMatchObject({
      problem: 'HASH',
      message: expect.stringContaining('unsupported hash_type "MD5"'),
    });
  });

  it('When the body is truncated (7.5a), then the hash check fails and so does the parse', async () => {
    const cut = utf8(BILL).subarray(0, 400);
    expect(await refusal(() => verifyWechatBill(cut, { hashType: 'SHA1', hashValue: sha1(utf8(BILL)) }))).toMatchObject({
      problem: 'HASH',
    });
    // Cut inside a row: that row is short of cells; cut between rows: the summary is missing.
    expect(await refusal(() => parse(cut))).toMatchObject({ problem: 'FORMAT', line: 2, message: expect.stringContaining('cells') });
    expect(await refused(BILL.split('总交易单数')[0])).toMatchObject({ problem: 'TRUNCATED' });
    expect(await refused(BILL.replace(/`2,`88\.88.*\r\n$/, ''))).toMatchObject({ problem: 'TRUNCATED' });
    const gzipped = gzipSync(utf8(BILL));
    expect(await refusal(() => parse(gzipped.subarray(0, gzipped.length - 12)))).toMatchObject({ problem: 'ENCODING' });
  });

  it.each([
    ['`2,`88.88', '`3,`88.88', '总交易单数', '总交易单数 says 3, the rows add up to 2'],
    ['`0.53000,`88.88', '`0.52000,`88.88', '手续费总金额', '手续费总金额 says 0.52000, the rows add up to 0.53000'],
    [',`10.00,`0.00,`0.53000', ',`1.00,`0.00,`0.53000', '退款总金额', '退款总金额 says 1.00, the rows add up to 10.00'],
  ])('When the summary says %s → %s, then the totals mismatch names both figures', async (from, to, column, message) => {
    const refusedWith = await refused(BILL.replace(from, to));
    expect(refusedWith).toMatchObject({ problem: 'TOTALS', line: 5, column });
    expect(refusedWith.message).toContain(message);
  });

  it('When the day is empty (header and a zero summary), then no line comes out', async () => {
    const lines = BILL.split('\r\n');
    const empty = [lines[0], lines[3], '`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00', ''].join('\r\n');
    const { lines: parsed, summary } = await parse(utf8(empty));
    expect(parsed).toEqual([]);
    expect(summary.refunds.count).toBe(0);
  });

  it.each([
    ['a formula in 商户订单号', 1, 6, "=cmd|' /C calc'!A0", '商户订单号'],
    ['a 3-decimal amount', 1, 12, '88.888', '应结订单金额'],
    ['a huge amount', 1, 24, '99999999999999999.00', '订单金额'],
    ['a fee with 6 decimals', 1, 22, '0.530000', '手续费'],
    ['a negative refund amount', 2, 16, '-10.00', '退款金额'],
    ['a zero requested refund', 2, 25, '0.00', '申请退款金额'],
    ['another currency', 1, 11, 'USD', '货币种类'],
    ['a refund row whose 商户退款单号 is 0', 2, 15, '0', '商户退款单号'],
    ['a refund row with no 退款状态', 2, 19, '', '退款状态'],
    ['a time without seconds', 1, 0, '2026-11-29 10:00', '交易时间'],
  ])('When a row holds %s, then it is refused naming its line and column', async (_, index, cell, value, column) => {
    expect(await refused(editLine(index, (c) => (c[cell] = value)))).toMatchObject({ problem: 'FORMAT', line: index + 1, column });
  });

  it.each([
    [
      'a value holding "`,`" (one cell too many)',
      (t: string) => t.replace('`测试商品,`', '`测试,`商品,`'),
      2,
      'has 28 cells, the header 27',
    ],
    ['a row without its backquote', (t: string) => t.replace('\r\n`2026-11-29 15:30:00', '\r\n2026-11-29 15:30:00'), 3, 'neither a row'],
    ['text after the summary row', (t: string) => `${t}garbage\r\n`, 6, 'text after the summary row'],
    ['a header that is a row', (t: string) => t.split('\r\n').slice(1).join('\r\n'), 1, 'the first line is a row'],
    ['a header without 手续费', (t: string) => t.replace(',手续费,', ',fee,'), 1, 'header lacks 手续费'],
  ])('When the bill has %s, then it is refused with the line', async (_, edit, line, message) => {
    const refusedWith = await refused(edit(BILL));
    expect(refusedWith).toMatchObject({ problem: 'FORMAT', line });
    expect(refusedWith.message).toContain(message);
  });

  it('When the bytes are not UTF-8, then it is refused as ENCODING', async () => {
    const bytes = Buffer.concat([utf8(BILL.slice(0, 300)), Buffer.from([0xff, 0xfe]), utf8(BILL.slice(300))]);
    expect(await refusal(() => parse(bytes))).toMatchObject({ problem: 'ENCODING' });
  });

  it.each([
    [27, false],
    [27, true],
    [24, true],
  ] as const)(
    'When the writer writes a busy day (%i columns, gzip %s), then the parser gives back every row, totals and hash',
    async (columns, gzip) => {
      const rows = dayOfRows(2000, { subFenFees: true }).map((r) => (columns === 24 ? { ...r, settledAmount: r.amount } : r));
      const { bytes, hashValue } = await wechatBillBytes(rows, { columns, gzip });
      const { lines, summary } = await readStatement(parseWechatBill(bytes, { digest: { hashType: 'SHA1', hashValue } }));
      expect(withoutLineNumbers(lines)).toEqual(expectedLines('wechat', rows));
      expect(summary.checked).toHaveLength(columns === 27 ? 7 : 5);
      expect(summary.refunds.feeMilliFen).toBe(rows.filter((r) => r.kind === 'refund').reduce((s, r) => s + (r.feeMilliFen ?? 0n), 0n));
    },
  );

  it('When the bill is written to a file and read back as a stream, then the file hash and the lines agree', async () => {
    const rows = dayOfRows(500, { subFenFees: true });
    const file = scratch.file('bill.csv.gz');
    const { hashValue } = await writeWechatBill(file, rows, { gzip: true });
    await expect(verifyWechatBill(createReadStream(file), { hashType: 'SHA1', hashValue })).resolves.toBe(hashValue);
    const { lines } = await readStatement(parseWechatBill(createReadStream(file, { highWaterMark: 1024 })));
    expect(withoutLineNumbers(lines)).toEqual(expectedLines('wechat', rows));
  });
});
