import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { MISSING_FLAGS, SERVICE_NODE_FLAGS } from '../../src/infra/node-flags';
import { envOf, execForm, only, readDockerfile, ROOT } from '../support/dockerfile';
import { eventually, freePort, TEST_CALLER, uniq } from '../support/harness';

/**
 * The production image without a Docker engine (none runs here): a temporary folder gets exactly what the
 * Dockerfile's runtime stage holds (dist/ from scripts/build-dist.sh, node_modules from the prod-deps stage's
 * `npm ci`, package.json), and the stage's CMD runs there with the stage's ENV against the test MariaDB and Redis.
 * The folder lies outside the repository, so nothing resolves from the repository's node_modules.
 */
const { stages } = readDockerfile();
const runtime = stages.find((s) => s.name === 'runtime')!;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let app: string;

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...opts, maxBuffer: 32 << 20, timeout: 300_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

/** The prod-deps stage's `npm ci …`, run here; --prefer-offline uses the local npm cache where it has the package. */
function prodDepsInstall(): string[] {
  const install = only(
    stages.find((s) => s.name === 'prod-deps')!,
    'RUN',
  ).args.replace(/^(--\S+\s+)*/, '');
  const [npm, ...args] = install.split(/\s+/);
  expect(npm).toBe('npm');
  return [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
}

/** Every file under `dir`, relative to it. */
function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((name) => {
    const p = path.join(rel, name);
    return statSync(path.join(dir, p)).isDirectory() ? walk(dir, p) : [p];
  });
}

/** Every installed package's folder under `rel` (relative to the app, as the lockfile names them), nested ones too. */
function packageFolders(rel: string): string[] {
  if (!existsSync(path.join(app, rel))) return [];
  return readdirSync(path.join(app, rel))
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(path.join(app, rel, name)).map((sub) => `${name}/${sub}`) : [name]))
    .flatMap((name) => [`${rel}/${name}`, ...packageFolders(`${rel}/${name}/node_modules`)]);
}

/** What an environment of the image sees: the stage's ENV, PATH, and the given variables; nothing of Jest's. */
function imageEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...envOf(stages, 'runtime'), ...vars };
}

beforeAll(async () => {
  app = mkdtempSync(path.join(tmpdir(), 'paysvc-image-'));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(app, 'package-lock.json'));
  // The build stage's dist/ and the prod-deps stage's node_modules, made side by side as BuildKit would.
  await Promise.all([
    run('bash', ['scripts/build-dist.sh', path.join(app, 'dist')], { cwd: ROOT }),
    run('npm', prodDepsInstall(), { cwd: app, env: { PATH: process.env.PATH, HOME: process.env.HOME } }),
  ]);
  rmSync(path.join(app, 'package-lock.json')); // the runtime stage copies package.json only
}, 300_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the production image', () => {
  it('When dist is built, then every package it requires is a production dependency that resolves from the image', () => {
    const js = walk(path.join(app, 'dist')).filter((f) => f.endsWith('.js'));
    expect(js).toEqual(expect.arrayContaining(['src/main.js', 'scripts/migrate.js', 'scripts/tenant.js', 'src/client/index.js']));
    const required = new Map<string, string>(); // package → a file requiring it
    for (const file of js) {
      const text = readFileSync(path.join(app, 'dist', file), 'utf8');
      for (const [, spec] of text.matchAll(/\brequire\("([^"]+)"\)/g)) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        required.set(name, file);
        // Resolved as node will, from the file itself: the image's node_modules, never the repository's.
        const resolved = createRequire(path.join(app, 'dist', file)).resolve(spec);
        expect(resolved.startsWith(path.join(app, 'node_modules') + path.sep)).toBe(true);
      }
      expect(text).not.toMatch(/require\("(tsx|ts-node|typescript|prisma|jest|ts-jest)(\/[^"]*)?"\)/);
    }
    expect([...required.keys()].filter((name) => !(name in pkg.dependencies))).toEqual([]);
    expect([...required.keys()]).toEqual(expect.arrayContaining(['@grpc/grpc-js', '@prisma/client', 'bullmq', 'express']));
    // Runtime assets, where the compiled code looks for them.
    expect(existsSync(path.join(app, 'dist/src/gen/descriptors.binpb'))).toBe(true);
    expect(readdirSync(path.join(app, 'dist/prisma/migrations'))).toEqual(readdirSync(path.join(ROOT, 'prisma/migrations')));
    // No sandbox gateway, test or dev script is shipped.
    expect(js.filter((f) => /sandbox|^test\/|^bench\/|scripts\/(dev|demo|sandboxes)/.test(f))).toEqual([]);
  });

  it('When production dependencies are installed, then no devDependency and no TypeScript toolchain is among them', async () => {
    // Every package folder, nested ones included, against the lockfile's own record of why it is there.
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean }>;
    };
    const folders = packageFolders('node_modules');
    expect(folders.filter((dir) => !(dir in lock.packages))).toEqual([]);
    expect(folders.length).toBeGreaterThan(100);
    expect(folders.filter((dir) => lock.packages[dir].dev || lock.packages[dir].devOptional)).toEqual([]);
    for (const name of ['tsx', 'typescript', 'ts-node', 'prisma', '@bufbuild/buf', 'esbuild', 'jest', 'eslint']) {
      expect(existsSync(path.join(app, 'node_modules', name))).toBe(false);
    }
    // A devDependency is there only because a production package needs it too (the lockfile says so).
    const devNamesInstalled = Object.keys(pkg.devDependencies).filter((name) => existsSync(path.join(app, 'node_modules', name)));
    expect(devNamesInstalled).toEqual(['@types/node']); // protobufjs and mariadb depend on it
    for (const name of Object.keys(pkg.dependencies)) expect(existsSync(path.join(app, 'node_modules', name, 'package.json'))).toBe(true);
    // npm agrees the tree is complete for production (exit 0: nothing missing, nothing invalid).
    await run('npm', ['ls', '--omit=dev', '--omit=optional', '--all', '--offline'], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
  });

  it('When migrate runs from dist, then it reads the shipped migrations and finds the test database up to date', async () => {
    const { stdout } = await run('node', ['dist/scripts/migrate.js'], {
      cwd: app,
      env: imageEnv({ DATABASE_URL: process.env.DATABASE_URL! }),
    });
    expect(stdout.trim()).toBe('database is up to date: no pending migrations');
  });

  describe('When the image CMD runs against MariaDB and Redis', () => {
    let child: ChildProcess;
    let output = '';
    let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    let grpcPort: number;
    let httpPort: number;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      [grpcPort, httpPort] = [await freePort(), await freePort()];
      env = imageEnv({
        DATABASE_URL: process.env.DATABASE_URL!,
        REDIS_URL: process.env.REDIS_URL!,
        // The stage's 0.0.0.0 would be every interface of this machine; the test stays on loopback.
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(httpPort),
        // What a production deployment must give (config refuses to start without it).
        GRPC_PLAINTEXT_IN_PRODUCTION: 'true',
        PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry]),
        CHANNEL_SECRETS_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        QUEUE_PREFIX: `{${uniq('image')}}`,
        EVENT_QUEUE_PREFIX: `{${uniq('imgevents')}}`,
        LOG_LEVEL: 'warn',
      });
      const [cmd, ...args] = execForm(only(runtime, 'CMD').args);
      child = spawn(cmd, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (b: Buffer) => void (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => void (output += b.toString()));
      exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    });

    afterAll(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });

    /** Fails at once, with the service's output, if it died. */
    const alive = (): void => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the service exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    };

    it('then the Dockerfile HEALTHCHECK passes once it is up', async () => {
      const [cmd, ...args] = execForm(only(runtime, 'HEALTHCHECK').args);
      await eventually(async () => {
        alive();
        return run(cmd, args, { cwd: app, env }).then(
          () => true,
          () => false,
        );
      }, 60_000);
    });

    it('then grpc.health.v1 says SERVING', async () => {
      alive();
      const health = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
        grpc: { health: { v1: { Health: new (a: string, c: unknown) => HealthClient } } };
      };
      const client = new health.grpc.health.v1.Health(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
      const status = await new Promise<string>((resolve, reject) =>
        client.check({ service: 'payment.v1.PaymentService' }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
          client.close();
          return err ? reject(err) : resolve(res.status);
        }),
      );
      expect(status).toBe('SERVING');
    });

    it('then a tenant registered with dist/scripts/tenant.js can CreateOrder through the compiled client', async () => {
      alive();
      const tenant = uniq('img');
      const { stdout } = await run('node', ['dist/scripts/tenant.js', 'add', tenant, '--name', 'Image test'], { cwd: app, env });
      expect(stdout).toBe(`added tenant ${tenant} ("Image test", mock channel off)\n`);
      // The typed client as dist/ ships it, on the image's own node_modules (a separate node, not Jest's loader).
      const script = `
        const { PaymentClient, OrderStatus } = require('./dist/src/client');
        const client = new PaymentClient(process.argv[1], { token: process.argv[2], deadlineMs: 20000 });
        client.createOrder({ tenantId: process.argv[3], outOrderNo: 'image-1', amount: 1234n, currency: 'CNY', subject: 'image test', notifyTopic: 'order.pay.notify' })
          .then(({ order }) => console.log(JSON.stringify({ tenant: order.tenantId, amount: String(order.amount), waiting: order.status === OrderStatus.ORDER_STATUS_WAIT_PAY })))
          .finally(() => client.close());`;
      const created = await run('node', ['-e', script, `127.0.0.1:${grpcPort}`, TEST_CALLER.token, tenant], { cwd: app, env });
      expect(JSON.parse(created.stdout)).toEqual({ tenant, amount: '1234', waiting: true });
    });

    it('then it does not warn of missing Node flags; started without them, it does', async () => {
      alive();
      expect(output).not.toContain(MISSING_FLAGS);
      const [cmd, ...args] = execForm(only(runtime, 'CMD').args);
      const bare = args.filter((a) => !SERVICE_NODE_FLAGS.includes(a));
      expect(bare).toEqual(['dist/src/main.js']);
      const ports = { GRPC_PORT: String(await freePort()), HTTP_PORT: String(await freePort()) };
      const other = spawn(cmd, bare, { cwd: app, env: { ...env, ...ports }, stdio: ['ignore', 'pipe', 'pipe'] });
      let said = '';
      other.stdout.on('data', (b: Buffer) => void (said += b.toString()));
      other.stderr.on('data', (b: Buffer) => void (said += b.toString()));
      const gone = new Promise((resolve) => other.once('exit', resolve));
      try {
        await eventually(async () => said.includes(MISSING_FLAGS) || other.exitCode !== null, 60_000);
        expect(said).toContain(MISSING_FLAGS);
        expect(said).toContain(SERVICE_NODE_FLAGS[0]);
      } finally {
        other.kill('SIGTERM');
        await gone;
      }
    });

    it('then SIGTERM drains and stops it with exit code 0', async () => {
      alive();
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      expect({ code, signal, output: code === 0 ? '' : output }).toEqual({ code: 0, signal: null, output: '' });
    });
  });
});

interface HealthClient {
  check(
    req: { service: string },
    md: Metadata,
    opts: { deadline: number },
    cb: (err: ServiceError | null, res: { status: string }) => void,
  ): void;
  close(): void;
}
