import { Metadata } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { CallerAuth } from '../../src/grpc/auth';

const ROOT = path.resolve(__dirname, '../..');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'scripts/caller.ts'), ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (err as unknown as { code: number }).code : 0, stdout, stderr }),
    ),
  );
}

/** A call as CallerAuth sees it: the metadata, and no TLS peer. */
const callWith = (token: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return { metadata, getAuthContext: () => null };
};

describe('npm run caller -- new', () => {
  it('When a caller is minted, then it prints the entry with only the hash and the token once, and the entry authenticates that token', async () => {
    const { code, stdout } = await run(['new', 'orders-svc', '--tenants', 'shop-1,shop-2', '--perm', 'pay']);
    expect(code).toBe(0);
    const [entryLine, token] = stdout.trim().split('\n');
    const entry = JSON.parse(entryLine) as Record<string, unknown>;
    expect(entry).toEqual({
      name: 'orders-svc',
      tokenSha256: createHash('sha256').update(token).digest('hex'),
      tenants: ['shop-1', 'shop-2'],
      permissions: ['pay'],
    });
    expect(entryLine).not.toContain(token);
    expect(token).toMatch(/^paysvc_[A-Za-z0-9_-]{43}$/);

    const config = loadConfig({ DATABASE_URL: 'mysql://u@h/db', REDIS_URL: 'redis://h', PAYSVC_CALLERS: `[${entryLine}]` });
    const auth = CallerAuth.fromConfig(config.callers);
    expect(auth.authenticate(callWith(token)).name).toBe('orders-svc');
    // One character off (a different one whatever the token ends with: 1 in 64 tokens ends with 'A').
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(() => auth.authenticate(callWith(tampered))).toThrow('missing or invalid credentials');
  }, 60_000);

  it('When --file is given, then the entry is added to that file (mode 0600) and a second caller is appended', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-callers-'));
    const file = path.join(dir, 'callers.json');
    try {
      expect((await run(['new', 'a', '--tenants', '*', '--perm', 'pay,operate', '--file', file])).code).toBe(0);
      expect((await run(['new', 'b', '--tenants', '*', '--perm', 'operate', '--cn', 'ops', '--no-token', '--file', file])).code).toBe(0);
      const list = JSON.parse(readFileSync(file, 'utf8')) as { name: string; certificate?: unknown; tokenSha256?: string }[];
      expect(list.map((c) => [c.name, !!c.tokenSha256, c.certificate ?? null])).toEqual([
        ['a', true, null],
        ['b', false, { cn: 'ops' }],
      ]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const again = await run(['new', 'a', '--tenants', '*', '--perm', 'pay', '--file', file]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('caller name a is used twice');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('The development caller of npm run dev', () => {
  it('When dev starts twice without callers configured, then the same "dev" token is kept; with callers configured, none is made', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-dev-'));
    const saved = process.env.PAYSVC_DATA_DIR;
    process.env.PAYSVC_DATA_DIR = dir;
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { devCallerEnv, DEV_TOKEN_FILE } = require('../../scripts/dev-caller') as typeof import('../../scripts/dev-caller');
        const first = devCallerEnv({});
        const second = devCallerEnv({});
        expect(DEV_TOKEN_FILE.startsWith(dir)).toBe(true);
        expect(second.token).toBe(first.token);
        expect(readFileSync(DEV_TOKEN_FILE, 'utf8').trim()).toBe(first.token);
        const [caller] = JSON.parse(first.env.PAYSVC_CALLERS) as { name: string; tokenSha256: string; tenants: string }[];
        expect(caller).toMatchObject({ name: 'dev', tenants: '*', tokenSha256: createHash('sha256').update(first.token!).digest('hex') });
        expect(devCallerEnv({ PAYSVC_CALLERS_FILE: '/etc/paysvc/callers.json' })).toEqual({ env: {} });
      });
    } finally {
      process.env.PAYSVC_DATA_DIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
