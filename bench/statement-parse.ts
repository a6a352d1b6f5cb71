/**
 * Statement parsing (issue 15): `npm run bench:statements`. Writes an Alipay trade bill (zip of GBK CSVs) and a
 * WeChat Pay v3 trade bill (gzip, as with tar_type=GZIP) of BENCH_STATEMENT_LINES rows (1,000,000) into a temp
 * folder with the sandboxes' writers, then parses each in a fresh process (node --expose-gc) that streams it
 * and samples process.memoryUsage() every 10,000 lines. The same is done with a tenth of the rows: if memory
 * is bounded, the peaks of the two runs are about the same, whatever the file size. Rates are given per wall
 * second and per CPU second (the machine is shared; CPU time is the steadier figure). No database, no Redis.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseAlipayStatement } from '../src/channels/alipay/statement';
import { parseWechatBill } from '../src/channels/wechat/statement';
import type { StatementStream } from '../src/reconcile';
import { writeAlipayStatement } from '../sandboxes/alipay/statement-file';
import type { StatementRow } from '../sandboxes/kit/statement-rows';
import { writeWechatBill } from '../sandboxes/wechat/statement-file';

type Channel = 'alipay' | 'wechat';

interface ParseReport {
  lines: number;
  wallS: number;
  cpuS: number;
  /** After the modules loaded and a GC, before the first byte: what the process costs without the file. */
  baseline: { rssMB: number; heapMB: number };
  peak: { rssMB: number; heapMB: number; externalMB: number };
  /** Live heap (after a GC) at 10 %, 50 % and 100 % of the lines: flat when nothing accumulates. */
  heapAtMB: number[];
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Rows generated one by one (never an array of a million): payments, every fifth a partial refund. */
function* rows(count: number, channel: Channel): Generator<StatementRow> {
  const start = Date.parse('2026-11-28T16:00:00Z');
  for (let i = 0; i < count; i++) {
    const amount = BigInt(1 + ((i * 7919) % 5_000_000));
    const refund = i % 5 === 4;
    const fee = channel === 'wechat' ? amount * 6n : ((amount * 6n) / 1000n) * 1000n;
    yield {
      kind: refund ? 'refund' : 'payment',
      outTradeNo: `T${String(i).padStart(12, '0')}`,
      channelTradeNo: `42000000002026112900${String(i).padStart(10, '0')}`,
      outRefundNo: refund ? `R${String(i).padStart(12, '0')}` : undefined,
      channelRefundNo: refund ? `5030000000202611290000${String(i).padStart(8, '0')}` : undefined,
      amount,
      feeMilliFen: refund ? -fee : fee,
      occurredAt: new Date(start + Math.floor((i / count) * 86_399) * 1000),
      productName: i % 3 === 0 ? '套餐A,含饮料 "大杯"' : '测试商品',
    };
  }
}

async function parseChild(channel: Channel, file: string, hashValue: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heap: base.heapUsed, external: base.external };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
    return m.heapUsed;
  };
  const stream: StatementStream =
    channel === 'alipay'
      ? parseAlipayStatement(file)
      : parseWechatBill(createReadStream(file), { digest: { hashType: 'SHA1', hashValue }, file });
  /** heapUsed after a full GC: what the parse holds on to, garbage aside. */
  const liveHeap = () => {
    sample();
    gc?.();
    return mb(process.memoryUsage().heapUsed);
  };
  const expected = Number(process.env.BENCH_EXPECTED_LINES);
  const marks = new Set([Math.floor(expected / 10), Math.floor(expected / 2)]);
  const heapAt: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let lines = 0;
  for await (const _line of stream) {
    lines += 1;
    if (lines % 10_000 === 0) sample();
    if (marks.has(lines)) heapAt.push(liveHeap());
  }
  heapAt.push(liveHeap());
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const total = stream.summary.payments.count + stream.summary.refunds.count;
  if (total !== lines) throw new Error(`summary counts ${total}, the stream gave ${lines}`);
  const report: ParseReport = {
    lines,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    baseline: { rssMB: mb(base.rss), heapMB: mb(base.heapUsed) },
    peak: { rssMB: mb(peak.rss), heapMB: mb(peak.heap), externalMB: mb(peak.external) },
    heapAtMB: heapAt,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function main(): Promise<void> {
  const full = Number(process.env.BENCH_STATEMENT_LINES ?? 1_000_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-bench-statements-'));
  const out: string[] = [
    `Statement parsing, ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores, shared)`,
    '',
    '| channel | lines | file | write s | parse s (wall) | parse CPU s | lines/CPU s | baseline RSS / heap MB | peak RSS / heap / external MB | live heap at 10 % / 50 % / 100 % MB |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  try {
    for (const channel of ['alipay', 'wechat'] as const) {
      for (const count of [Math.floor(full / 10), full]) {
        const file = path.join(dir, `${channel}-${count}${channel === 'alipay' ? '.csv.zip' : '.csv.gz'}`);
        const w0 = Date.now();
        const hashValue = channel === 'alipay' ? '' : (await writeWechatBill(file, rows(count, channel), { gzip: true })).hashValue;
        if (channel === 'alipay') await writeAlipayStatement(file, rows(count, channel));
        const writeS = (Date.now() - w0) / 1000;
        const stdout = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, 'parse', channel, file, hashValue], {
          env: { ...process.env, BENCH_EXPECTED_LINES: String(count) },
          encoding: 'utf8',
          maxBuffer: 1 * MB,
        });
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as ParseReport;
        const row = `| ${channel} | ${count.toLocaleString('en')} | ${mb(statSync(file).size)} MB | ${writeS.toFixed(1)} | ${r.wallS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${Math.round(r.lines / r.cpuS).toLocaleString('en')} | ${r.baseline.rssMB} / ${r.baseline.heapMB} | ${r.peak.rssMB} / ${r.peak.heapMB} / ${r.peak.externalMB} | ${r.heapAtMB.join(' / ')} |`;
        out.push(row);
        console.log(row);
        rmSync(file);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n${out.join('\n')}`);
}

if (process.argv[2] === 'parse') {
  const [, , , channel, file, hashValue] = process.argv;
  parseChild(channel as Channel, file, hashValue).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
