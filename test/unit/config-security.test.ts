import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { mintCaller } from '../../src/grpc/caller-token';
import { BASE_ENV, configProblems } from '../support/config';

const PRODUCTION = { ...BASE_ENV, NODE_ENV: 'production', CHANNEL_SECRETS_KEYS: `k1:${randomBytes(32).toString('base64')}` };
const CALLER = mintCaller('orders', { tenants: ['shop-1'], permissions: ['pay'] });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'paysvc-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Transport and caller configuration', () => {
  it('When nothing is set, then gRPC and HTTP listen on loopback, reflection is on, and there is no TLS and no caller', () => {
    const c = loadConfig(BASE_ENV);
    expect([c.GRPC_HOST, c.HTTP_HOST, c.GRPC_REFLECTION, c.grpcTls, c.callers]).toEqual(['127.0.0.1', '127.0.0.1', true, undefined, []]);
  });

  it('When production has neither TLS nor callers, then the start is refused naming both variables', () => {
    const msg = configProblems(PRODUCTION);
    expect(msg).toMatch(/GRPC_TLS_CERT_FILE: required in production/);
    expect(msg).toMatch(/PAYSVC_CALLERS_FILE: callers are required in production/);
  });

  it('When production opts out loudly (plaintext behind a mesh, authentication disabled), then it starts', () => {
    expect(configProblems({ ...PRODUCTION, GRPC_PLAINTEXT_IN_PRODUCTION: 'true', PAYSVC_AUTH_DISABLED: 'true' })).toBe('');
  });

  it('When production has callers and plaintext is opted into, then it starts with those callers', () => {
    const c = loadConfig({ ...PRODUCTION, GRPC_PLAINTEXT_IN_PRODUCTION: 'true', PAYSVC_CALLERS: JSON.stringify([CALLER.entry]) });
    expect(c.callers).toEqual([CALLER.entry]);
  });

  it('When callers come from a file, then they are read from it; a missing file is named', () => {
    const file = path.join(dir, 'callers.json');
    writeFileSync(file, JSON.stringify([CALLER.entry]));
    expect(loadConfig({ ...BASE_ENV, PAYSVC_CALLERS_FILE: file }).callers).toEqual([CALLER.entry]);
    expect(configProblems({ ...BASE_ENV, PAYSVC_CALLERS_FILE: path.join(dir, 'nope.json') })).toMatch(
      /PAYSVC_CALLERS_FILE: cannot read .*ENOENT/,
    );
  });

  it.each([
    ['not JSON', '[{', /PAYSVC_CALLERS: not JSON/],
    [
      'a name with a colon (a system actor)',
      JSON.stringify([{ ...CALLER.entry, name: 'system:timeout' }]),
      /PAYSVC_CALLERS: 0\.name: must be/,
    ],
    [
      'a token in clear instead of its hash',
      JSON.stringify([{ ...CALLER.entry, tokenSha256: CALLER.token }]),
      /0\.tokenSha256: must be the hex SHA-256/,
    ],
    ['no credential', JSON.stringify([{ name: 'x', tenants: '*', permissions: ['pay'] }]), /needs tokenSha256 or certificate/],
    ['an unknown permission', JSON.stringify([{ ...CALLER.entry, permissions: ['admin'] }]), /0\.permissions\.0/],
    ['no tenants', JSON.stringify([{ ...CALLER.entry, tenants: [] }]), /0\.tenants/],
    ['"*" inside a list', JSON.stringify([{ ...CALLER.entry, tenants: ['*'] }]), /0\.tenants\.0: must be a tenant id/],
    ['a name used twice', JSON.stringify([CALLER.entry, { ...CALLER.entry, tokenSha256: 'a'.repeat(64) }]), /used twice/],
    ['an unknown field', JSON.stringify([{ ...CALLER.entry, token: 'x' }]), /PAYSVC_CALLERS: /],
  ])('When PAYSVC_CALLERS has %s, then the start is refused naming it', (_what, value, message) => {
    expect(configProblems({ ...BASE_ENV, PAYSVC_CALLERS: value })).toMatch(message);
  });

  it('When both PAYSVC_CALLERS and PAYSVC_CALLERS_FILE are set, or auth is disabled while callers exist, then the start is refused', () => {
    expect(configProblems({ ...BASE_ENV, PAYSVC_CALLERS: '[]', PAYSVC_CALLERS_FILE: '/x' })).toMatch(/not both/);
    expect(configProblems({ ...BASE_ENV, PAYSVC_CALLERS: JSON.stringify([CALLER.entry]), PAYSVC_AUTH_DISABLED: 'true' })).toMatch(
      /PAYSVC_AUTH_DISABLED/,
    );
  });

  it('When TLS is half configured or its files are missing, then the start is refused naming the variable', () => {
    expect(configProblems({ ...BASE_ENV, GRPC_TLS_CERT_FILE: '/x.crt' })).toMatch(/GRPC_TLS_KEY_FILE: TLS needs both/);
    expect(configProblems({ ...BASE_ENV, GRPC_TLS_CLIENT_CA_FILE: '/ca.crt' })).toMatch(/GRPC_TLS_CLIENT_CA_FILE: mTLS needs/);
    expect(
      configProblems({ ...BASE_ENV, GRPC_TLS_CERT_FILE: path.join(dir, 'a.crt'), GRPC_TLS_KEY_FILE: path.join(dir, 'a.key') }),
    ).toMatch(/GRPC_TLS_CERT_FILE: cannot read/);
  });
});

describe('npm start in production', () => {
  it('When started with NODE_ENV=production and no TLS or callers, then the process exits 1 naming what is missing', async () => {
    const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
    const main = path.resolve(__dirname, '../../src/main.ts');
    const env = { PATH: process.env.PATH ?? '', ...PRODUCTION };
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(tsx, [main], { env, timeout: 60_000 }, (err, _stdout, stderr) =>
        resolve({ code: err ? (err as unknown as { code: number }).code : 0, stderr }),
      );
      child.stdin?.end();
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/GRPC_TLS_CERT_FILE: required in production/);
    expect(stderr).toMatch(/PAYSVC_CALLERS_FILE: callers are required in production/);
  }, 60_000);
});
