import { readFileSync, writeFileSync } from 'node:fs';
import { parse as csvParse } from 'csv-parse/sync';
import { parseAlipayStatement } from '../../src/channels/alipay/statement';
import { splitAlipayLine } from '../../src/channels/alipay/statement/csv';
import { alipayFileNames, writeAlipayStatement, zipAlipayTexts } from '../../sandboxes/alipay/statement-file';
import { encodeGbk } from '../../sandboxes/kit/gbk';
import { writeZip } from '../../sandboxes/kit/zip';
import { dayOfRows, expectedLines, readStatement, refusal, sample, scratchDir, withoutLineNumbers } from '../support/statements';

const scratch = scratchDir();
const NAMES = alipayFileNames({ pid: '2088000000000000', day: '2026-11-29' });
const DETAIL = sample('alipay-detail.txt');
const SUMMARY = sample('alipay-summary.txt');

async function zipOf(detail: string, summary = SUMMARY, extra: Record<string, string> = {}): Promise<string> {
  const file = scratch.file(NAMES.zip);
  await zipAlipayTexts(file, { [NAMES.detail]: detail, [NAMES.summary]: summary, ...extra });
  return file;
}

const parse = async (detail: string, summary = SUMMARY) => readStatement(parseAlipayStatement(await zipOf(detail, summary)));
const refused = async (detail: string, summary = SUMMARY) => refusal(() => parse(detail, summary));
/** The sample's detail with its first data row (line 6) edited. */
const editRow = (edit: (cells: string[]) => void): string => {
  const lines = DETAIL.split('\r\n');
  const cells = lines[5].split(',');
  edit(cells);
  lines[5] = cells.join(',');
  return lines.join('\r\n');
};

const PAYMENT = {
  channel: 'alipay',
  kind: 'payment',
  outTradeNo: 'T20261129000001',
  channelTradeNo: '2026112922001400000000000001',
  amount: 8888n,
  settledAmount: 8888n,
  feeMilliFen: 53_000n,
  currency: 'CNY',
  status: '交易',
  occurredAt: new Date('2026-11-29T02:00:09Z'),
  line: 6,
};
const REFUND = {
  ...PAYMENT,
  kind: 'refund',
  outRefundNo: 'R20261129000001',
  amount: 1000n,
  settledAmount: 1000n,
  feeMilliFen: 0n,
  status: '退款',
  occurredAt: new Date('2026-11-29T07:30:00Z'),
  line: 7,
};

describe('Alipay trade bill (zip of GBK CSVs)', () => {
  it('When the research sample is read, then it gives one payment and one refund with positive fen, and every footer figure was checked', async () => {
    const { lines, summary } = await parse(DETAIL);
    expect(lines).toEqual([PAYMENT, REFUND]);
    expect(summary).toEqual({
      channel: 'alipay',
      payments: { count: 1, amount: 8888n, settledAmount: 8888n, feeMilliFen: 53_000n },
      refunds: { count: 1, amount: 1000n, settledAmount: 1000n, feeMilliFen: 0n },
      account: '20880000000000000156',
      exportedAt: new Date('2026-11-30T01:12:33Z'),
      checked: [
        '交易合计 笔数=1',
        '交易合计 商家实收=88.88',
        '交易合计 商家优惠=0.00',
        '退款合计 笔数=1',
        '退款合计 商家实收退款=-10.00',
        '退款合计 商家优惠退款=0.00',
        '汇总 合计 交易订单总笔数=1',
        '汇总 合计 退款订单总笔数=1',
      ],
    });
  });

  it('When the zip really is GBK (names and text), then no UTF-8 byte of the Chinese text is in it', async () => {
    const bytes = readFileSync(await zipOf(DETAIL));
    expect(bytes.includes(Buffer.from('业务明细', 'utf8'))).toBe(false);
    expect(bytes.includes(encodeGbk(NAMES.detail))).toBe(true);
  });

  it.each([
    ['spaces instead of TABs (older files)', (t: string) => t.replace(/\t/g, ' ')],
    ['no padding at all', (t: string) => t.replace(/\t/g, '')],
    ['LF instead of CRLF', (t: string) => t.replace(/\r\n/g, '\n')],
    ['half-width brackets in the header', (t: string) => t.replace(/（/g, '(').replace(/）/g, ')')],
    ['no final line break', (t: string) => t.replace(/\r\n$/, '')],
    ['blank lines in the preamble and footer', (t: string) => t.replace('#账号', '\r\n#账号').replace('#导出时间', '\r\n#导出时间')],
  ])('When the detail has %s, then the same lines come out', async (_, edit) => {
    const { lines } = await parse(edit(DETAIL));
    expect(withoutLineNumbers(lines)).toEqual(withoutLineNumbers([PAYMENT, REFUND] as never));
  });

  it('When a product name holds commas and quotes (quoted cell), then the row keeps its columns', async () => {
    const { lines } = await parse(editRow((c) => (c[3] = '"套餐A,含饮料 ""大杯"""\t')));
    expect(lines[0]).toEqual(PAYMENT);
  });

  it.each(['a,"b,c"\t,d\te,"x""y"', '"",a,"",', 'a,b"c,d', '"a""",b', ' "q" ,x', ',,', '2026\t,"套餐A,含饮料 ""大杯""",2026-11-29,'])(
    'When the line %p is split, then the cells are what csv-parse (relax_quotes, trim) reads',
    (line) => {
      const oracle: string[][] = csvParse(line, { relax_quotes: true, relax_column_count: true, trim: true });
      expect(splitAlipayLine(line, 'f', 1)).toEqual(oracle[0].map((cell) => cell.trim()));
    },
  );

  it.each(['a,"b,c', 'a,"b"c,d'])('When the line %p has an open quote or text after a closing one, then it is refused', (line) => {
    expect(() => splitAlipayLine(line, 'f', 9)).toThrow(expect.objectContaining({ problem: 'FORMAT', where: { file: 'f', line: 9 } }));
  });

  it('When 备注 (the last column) holds an unquoted comma, then the tail is joined back into it', async () => {
    const { lines } = await parse(editRow((c) => (c[24] = '备注,带逗号')));
    expect(lines[0]).toEqual(PAYMENT);
  });

  it('When a product name holds an unquoted comma, then the shifted row is refused with its line, never read shifted', async () => {
    // 26 cells: the tail goes into 备注, and the shifted 订单金额 (对方账户's text) is no amount.
    expect(await refused(editRow((c) => (c[3] = '套餐A,含饮料')))).toMatchObject({ problem: 'FORMAT', line: 6, column: '订单金额(元)' });
  });

  it('When the zip has other entries (_财务明细.csv) or UTF-8-flagged names, then only the two bills are read', async () => {
    const file = await zipOf(DETAIL, SUMMARY, { '20880000000000000156_20261129_财务明细.csv': 'anything\r\n' });
    expect((await readStatement(parseAlipayStatement(file))).lines).toHaveLength(2);
    const utf8 = scratch.file('utf8.zip');
    await zipAlipayTexts(utf8, { [NAMES.detail]: DETAIL, [NAMES.summary]: SUMMARY }, { utf8Names: true });
    expect((await readStatement(parseAlipayStatement(utf8))).lines).toHaveLength(2);
  });

  it('When the summary entry is missing, or the file is no zip, then it is refused', async () => {
    const file = scratch.file('detail-only.zip');
    await zipAlipayTexts(file, { [NAMES.detail]: DETAIL });
    expect(await refusal(() => readStatement(parseAlipayStatement(file)))).toMatchObject({
      problem: 'FORMAT',
      message: expect.stringContaining('0 entries end with _业务明细(汇总).csv'),
    });
    const notZip = scratch.file('not.zip');
    writeFileSync(notZip, DETAIL);
    expect(await refusal(() => readStatement(parseAlipayStatement(notZip)))).toMatchObject({ problem: 'ENCODING' });
  });

  it('When the zip is cut short, then it is refused as unreadable', async () => {
    const bytes = readFileSync(await zipOf(DETAIL));
    const cut = scratch.file('cut.zip');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    expect(await refusal(() => readStatement(parseAlipayStatement(cut)))).toMatchObject({ problem: 'ENCODING' });
  });

  it('When the detail ends before its footer (truncated), then it is refused as TRUNCATED', async () => {
    const cut = DETAIL.slice(0, DETAIL.indexOf('#---------------------------------------') + 1);
    expect(await refused(DETAIL.split('#-----------------------------------------业务明细列表结束')[0])).toMatchObject({
      problem: 'TRUNCATED',
    });
    expect(await refused(cut.slice(0, 10))).toMatchObject({ problem: 'TRUNCATED' });
    expect(await refused(DETAIL.replace(/#退款合计.*\r\n/, ''))).toMatchObject({ problem: 'TRUNCATED' });
  });

  it.each([
    ['#交易合计：1笔', '#交易合计：2笔', '交易合计 笔数 says 2, the rows add up to 1'],
    ['商家实收共88.88元', '商家实收共88.00元', '交易合计 商家实收 says 88.00, the rows add up to 88.88'],
    ['商家实收退款共-10.00元', '商家实收退款共-1.00元', '退款合计 商家实收退款 says -1.00, the rows add up to -10.00'],
  ])('When the footer says %s → %s, then the totals mismatch names both figures', async (from, to, message) => {
    const refusedWith = await refused(DETAIL.replace(from, to));
    expect(refusedWith).toMatchObject({ problem: 'TOTALS', line: expect.any(Number) });
    expect(refusedWith.message).toContain(message);
  });

  it("When the summary file's 合计 counts differ from the detail, then both figures are named", async () => {
    const refusedWith = await refused(DETAIL, SUMMARY.replace('合计,,1,1', '合计,,3,1'));
    expect(refusedWith).toMatchObject({ problem: 'TOTALS', line: 6 });
    expect(refusedWith.message).toContain('交易订单总笔数 says 3, the detail has 1 rows');
  });

  it('When the day is empty (header and a 0笔 footer), then no line comes out and the totals are zero', async () => {
    const lines = DETAIL.split('\r\n');
    const empty = [
      ...lines.slice(0, 5),
      lines[7],
      '#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元',
      '#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元',
      lines[10],
      '',
    ].join('\r\n');
    const { lines: parsed, summary } = await parse(
      empty,
      SUMMARY.replace('合计,,1,1,78.88,78.88,0.00,0.00,0.00,-0.53,0.00,78.35', '合计,,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00'),
    );
    expect(parsed).toEqual([]);
    expect(summary.payments).toEqual({ count: 0, amount: 0n, settledAmount: 0n, feeMilliFen: 0n });
  });

  it.each([
    ['a formula in 商户订单号', 1, "=cmd|' /C calc'!A0", 'FORMAT', '商户订单号'],
    ['a huge amount', 11, '99999999999999999.00', 'FORMAT', '订单金额(元)'],
    ['a 3-decimal amount', 11, '88.888', 'FORMAT', '订单金额(元)'],
    ['an amount in exponent form', 12, '8.888e1', 'FORMAT', '商家实收(元)'],
    ['a negative trade amount', 11, '-88.88', 'FORMAT', '订单金额(元)'],
    ['an empty amount', 11, '', 'FORMAT', '订单金额(元)'],
    ['an unknown 业务类型', 2, '冻结', 'FORMAT', '业务类型'],
    ['an impossible time', 5, '2026-11-31 10:00:09', 'FORMAT', '完成时间'],
    ['an empty 支付宝交易号', 0, '\t', 'FORMAT', '支付宝交易号'],
  ])('When a row holds %s, then it is refused naming line 6 and the column', async (_, index, cell, problem, column) => {
    const refusedWith = await refused(editRow((c) => (c[index] = cell)));
    expect(refusedWith).toMatchObject({ problem, line: 6, column });
  });

  it('When a refund row carries a positive amount, then it is refused (refunds are negative in this file)', async () => {
    const lines = DETAIL.split('\r\n');
    lines[6] = lines[6].replace(',-10.00,-10.00,', ',10.00,-10.00,');
    expect(await refused(lines.join('\r\n'))).toMatchObject({ problem: 'FORMAT', line: 7, column: '订单金额(元)' });
  });

  it('When a formula sits in a free-text cell (商品名称), then it is carried nowhere and the row is read', async () => {
    const { lines } = await parse(editRow((c) => (c[3] = "=cmd|' /C calc'!A0")));
    expect(lines[0]).toEqual(PAYMENT);
  });

  it('When the header lacks a needed column, then the header line is named', async () => {
    expect(await refused(DETAIL.replace('商家实收（元）', '实收'))).toMatchObject({
      problem: 'FORMAT',
      line: 5,
      message: expect.stringContaining('商家实收(元)'),
    });
  });

  it('When the bytes are not GBK, then it is refused as ENCODING', async () => {
    const file = scratch.file('bad-gbk.zip');
    const bytes = Buffer.concat([encodeGbk(DETAIL.slice(0, 200)), Buffer.from([0x81, 0x0a]), encodeGbk(DETAIL.slice(200))]);
    await writeZip(file, [
      { name: encodeGbk(NAMES.detail), data: [bytes] },
      { name: encodeGbk(NAMES.summary), data: [encodeGbk(SUMMARY)] },
    ]);
    expect(await refusal(() => readStatement(parseAlipayStatement(file)))).toMatchObject({ problem: 'ENCODING' });
  });

  it('When the writer writes a busy day, then the parser gives back every row and the same totals', async () => {
    const rows = dayOfRows(2000, { subFenFees: false });
    const file = scratch.file(NAMES.zip);
    await writeAlipayStatement(file, rows);
    const { lines, summary } = await readStatement(parseAlipayStatement(file));
    expect(withoutLineNumbers(lines)).toEqual(expectedLines('alipay', rows));
    expect(lines[0].line).toBe(6);
    expect(summary.payments.count + summary.refunds.count).toBe(2000);
    expect(summary.payments.amount).toBe(rows.filter((r) => r.kind === 'payment').reduce((s, r) => s + r.amount, 0n));
    expect(summary.checked).toHaveLength(8);
  });

  it('When a statement is read twice, or its summary asked for early, then that is an error, not a silent empty', async () => {
    const stream = parseAlipayStatement(await zipOf(DETAIL));
    expect(() => stream.summary).toThrow('not been read to its end');
    await readStatement(stream);
    await expect(readStatement(stream)).rejects.toThrow('only once');
  });
});
