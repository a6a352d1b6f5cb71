/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof` or profiler.ts): the busiest functions by self time,
 * self time per package or source folder, and the same time charged to its owner: the nearest package or
 * folder of ours on the stack, so a socket write or a regex in Node core counts for the library that asked.
 * run.ts calls it under BENCH_CPU_PROF; by hand:
 * `npx tsx bench/profile-top.ts <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.resolve(__dirname, '..');

/** A package (node_modules), a Node core area, a folder of ours, or a V8 pseudo-frame. */
export function bucketOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    if (parts[0] !== 'internal') return `node:${parts[0]}`;
    return parts[1] === 'deps' ? `node:deps/${parts[2]}` : `node:${parts[1]?.replace(/\.js$/, '')}`;
  }
  const local = url.replace(/^file:\/\//, '');
  if (local.startsWith(ROOT)) {
    const rel = path.relative(ROOT, local).split(path.sep);
    return rel.slice(0, rel[0] === 'src' ? Math.min(3, rel.length - 1) : 1).join('/');
  }
  return url;
}

/** Node core, native code, V8 pseudo-frames and wasm are charged to whoever called them. */
const isOwner = (bucket: string): boolean => !bucket.startsWith('node:') && !bucket.startsWith('(') && !bucket.startsWith('wasm:');

function where(frame: ProfileNode['callFrame']): string {
  const file = frame.url
    .replace(/^file:\/\//, '')
    .replace(`${ROOT}/`, '')
    .replace(/^.*\/node_modules\//, '');
  return file ? `${file}:${frame.lineNumber + 1}` : '';
}

export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));

  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  const selfByFn = new Map<string, number>();
  const selfByBucket = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

  // Walk the call tree once, carrying the nearest owner (a package or a folder of ours) down the stack.
  const root = profile.nodes[0];
  const stack: Array<{ node: ProfileNode; owner: string | undefined }> = [{ node: root, owner: undefined }];
  while (stack.length > 0) {
    const { node, owner: above } = stack.pop() as { node: ProfileNode; owner: string | undefined };
    const bucket = bucketOf(node.callFrame);
    const owner = isOwner(bucket) ? bucket : above;
    const t = self.get(node.id) ?? 0;
    if (t > 0 && node.callFrame.functionName !== '(idle)') {
      add(selfByFn, `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame)}`.trim(), t);
      add(selfByBucket, bucket, t);
      add(byOwner, owner ?? bucket, t);
    }
    for (const child of node.children ?? []) stack.push({ node: byId.get(child) as ProfileNode, owner });
  }

  const ms = (us: number) => (us / 1000).toFixed(0);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;
  const table = (title: string, m: Map<string, number>) => [
    '',
    `| ${title} | ms | % of busy |`,
    '|---|---:|---:|',
    ...[...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${ms(v)} | ${pct(v)} |`),
  ];
  return [
    `Profile ${path.basename(file)}: ${ms(total)} ms sampled, ${ms(busy)} ms busy (${ms(idle)} ms idle).`,
    ...table('Function (self time)', selfByFn),
    ...table('Package / folder (self time)', selfByBucket),
    ...table('Owner: nearest package / folder of ours on the stack (self time)', byOwner),
  ].join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/profile-top.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, top ? Number(top) : 15));
}
