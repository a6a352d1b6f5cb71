import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { saveChannelAccount } from '../../src/app/channel-accounts';
import { registerTenant } from '../../src/app/tenants';
import { SecretBox } from '../../src/infra/secret-box';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import { mockAccount, startHarness, type Harness } from '../support/harness';

/**
 * The README's grpcurl block, run as written: bash executes it line by line (`set -e`, so the first failing line
 * fails the test), with test/strict-client/grpcurl — grpcurl's command line over Google's protobuf runtime and
 * reflection alone — first on the PATH. The only change is the address: the block's localhost:50051 becomes the
 * test server's ephemeral port. Tenant "demo" is registered with the mock, as `npm run dev` registers it.
 */
const ROOT = path.resolve(__dirname, '../..');
const SHIM_DIR = path.join(ROOT, 'test/strict-client');

function readmeBlock(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## grpcurl\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## grpcurl"');
  return block[1];
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await registerTenant(h.service.deps.db, { id: 'demo', name: 'Demo shop' });
  await saveChannelAccount(h.service.deps.db, SecretBox.development(), 'demo', mockAccount(h, 'demo'));
});
afterAll(async () => {
  await h?.close();
});

describe("the README's grpcurl lines", () => {
  it('When they run verbatim, in order, against a real server, then every line succeeds and the walk ends paid and partly refunded', async () => {
    const block = readmeBlock();
    expect(block).toContain('localhost:50051');
    const script = `set -euo pipefail\n${block.replaceAll('localhost:50051', `127.0.0.1:${h.service.grpc.port}`)}`;
    const run = await bash(script, { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}`, PAYSVC_TOKEN: h.token });
    if (run.code !== 0)
      throw new Error(`the README block failed (exit ${run.code}):\n${run.stderr}\n--- stdout ---\n${run.stdout.slice(-4000)}`);

    // What the lines did, read back through the typed client: SO-1001 paid and refunded 10 yuan, SO-1002 cancelled.
    const paid = (await h.call('query', { order: { tenantId: 'demo', key: { $case: 'outOrderNo', value: 'SO-1001' } }, sync: false }))
      .order!;
    expect([OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, OrderStatus.ORDER_STATUS_SUCCESS]).toContain(paid.status);
    expect(paid.refunds.map((r) => [r.outRefundNo, r.amount])).toEqual([['RF-1', 1000n]]);
    const cancelled = (await h.call('query', { order: { tenantId: 'demo', key: { $case: 'outOrderNo', value: 'SO-1002' } }, sync: false }))
      .order!;
    expect(cancelled.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    // The output is grpcurl's: lowerCamel JSON names, int64 as strings.
    expect(run.stdout).toContain('"payNo": "');
    expect(run.stdout).toMatch(/"amount": "8888"/);
  });
});
