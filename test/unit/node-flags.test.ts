import { readFileSync } from 'node:fs';
import path from 'node:path';
import { missingNodeFlags, SERVICE_NODE_FLAGS } from '../../src/infra/node-flags';
import { servingNodeFlags } from '../../bench/children';

const ROOT = path.resolve(__dirname, '../..');
const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/**
 * Node's own arguments in an npm script that runs `node <arguments…> <entry>` (after an optional exec): a flag after
 * the entry would be the script's, not node's.
 */
const nodeArgsOf = (script: string): string[] => {
  const argv = script.replace(/^exec /, '').split(/\s+/);
  expect(argv[0]).toBe('node');
  return argv.slice(1, -1);
};

describe("The service's Node flags", () => {
  it('When npm start or npm run dev runs the service, then node gets every flag', () => {
    expect(SERVICE_NODE_FLAGS.length).toBeGreaterThan(0);
    expect(nodeArgsOf(scripts.start)).toEqual(expect.arrayContaining([...SERVICE_NODE_FLAGS]));
    expect(nodeArgsOf(scripts.dev)).toEqual(expect.arrayContaining([...SERVICE_NODE_FLAGS]));
  });

  it('When the bench starts the service or its echo baseline, then they get the flags; its other processes do not', () => {
    expect(servingNodeFlags('server-main.ts')).toEqual(SERVICE_NODE_FLAGS);
    expect(servingNodeFlags('echo-server-main.ts')).toEqual(SERVICE_NODE_FLAGS);
    expect(servingNodeFlags('gateway-main.ts')).toEqual([]);
    expect(servingNodeFlags('load-client.ts')).toEqual([]);
  });

  it('When a flag is on the command line or in NODE_OPTIONS, with any value, then it is not missing', () => {
    expect(missingNodeFlags([...SERVICE_NODE_FLAGS], '')).toEqual([]);
    expect(missingNodeFlags([], `--enable-source-maps ${SERVICE_NODE_FLAGS.join(' ')}`)).toEqual([]);
    expect(missingNodeFlags(['--max_semi_space_size=64'], '')).toEqual([]); // V8 takes underscores too
  });

  it('When a flag is given nowhere, or only something that starts like it, then it is missing', () => {
    expect(missingNodeFlags([], '')).toEqual([...SERVICE_NODE_FLAGS]);
    expect(missingNodeFlags(['--import', 'tsx', '--max-old-space-size=512'], '-r x')).toEqual([...SERVICE_NODE_FLAGS]);
    expect(missingNodeFlags(['--max-semi-space'], '')).toEqual([...SERVICE_NODE_FLAGS]);
  });
});
