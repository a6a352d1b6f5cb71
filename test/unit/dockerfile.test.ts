import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../src/infra/node-flags';
import { envOf, execForm, lineage, only, readDockerfile, ROOT } from '../support/dockerfile';

/**
 * The Dockerfile's shape, checked without a Docker engine (none runs here): the runtime stage holds compiled
 * dist/ and production dependencies only, and a few hadolint rules. What the stage holds actually runs in
 * test/component/production-image.test.ts.
 */
const { preamble, stages } = readDockerfile();
const runtime = stages[stages.length - 1];
const BASE_IMAGE = 'node:20-bookworm-slim';

/** `node dist/<x>.js` → the source tsconfig.build.json must compile for it. */
function sourceOf(distJs: string): string {
  return distJs.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}
const buildConfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as {
  files: string[];
};

describe('Dockerfile', () => {
  it('When read, then every stage starts from node:20-bookworm-slim or an earlier stage, and the last is runtime', () => {
    expect(preamble.filter((i) => i.keyword !== 'ARG')).toEqual([]);
    stages.forEach((stage, i) => {
      const earlier = stages.slice(0, i).map((s) => s.name);
      expect(earlier.includes(stage.from) || stage.from === BASE_IMAGE).toBe(true);
    });
    expect(stages.map((s) => s.name)).toEqual(['base', 'build', 'prod-deps', 'sandbox', 'runtime']);
  });

  it('When the build stage runs, then it installs every dependency from the lockfile and runs npm run build', () => {
    const build = stages.find((s) => s.name === 'build')!;
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs).toEqual([expect.stringMatching(/ npm ci --ignore-scripts$/), 'npm run build']);
    expect(envOf(stages, 'build').PRISMA_SCHEMA_ENGINE_BINARY).toBe('/bin/false');
  });

  it('When the prod-deps stage runs, then it installs production dependencies only, without optional peers or scripts', () => {
    const prodDeps = stages.find((s) => s.name === 'prod-deps')!;
    expect(only(prodDeps, 'RUN').args).toMatch(/ npm ci --omit=dev --omit=optional --ignore-scripts$/);
  });

  it('When the runtime stage is built, then it copies only dist/, the production node_modules and package.json', () => {
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['--from=prod-deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist', 'package.json ./']);
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
  });

  it("When the runtime image starts, then it runs node dist/src/main.js with the service's Node flags as user node on the exposed ports, with a node health check", () => {
    const cmd = execForm(only(runtime, 'CMD').args);
    expect(cmd).toEqual(['node', ...SERVICE_NODE_FLAGS, 'dist/src/main.js']);
    expect(buildConfig.files).toContain(sourceOf(cmd[cmd.length - 1]));
    expect(only(runtime, 'USER').args).toBe('node');
    // USER comes before CMD, so nothing after it runs as root.
    expect(runtime.instructions.findIndex((i) => i.keyword === 'USER')).toBeLessThan(
      runtime.instructions.findIndex((i) => i.keyword === 'CMD'),
    );
    const env = envOf(stages, 'runtime');
    expect(env).toMatchObject({ NODE_ENV: 'production', GRPC_HOST: '0.0.0.0', HTTP_HOST: '0.0.0.0' });
    expect(only(runtime, 'EXPOSE').args.split(/\s+/).sort()).toEqual([env.GRPC_PORT, env.HTTP_PORT].sort());
    const check = execForm(only(runtime, 'HEALTHCHECK').args);
    expect(check.slice(0, 2)).toEqual(['node', '-e']);
    expect(check[2]).toContain('/readyz');
  });

  it('When linted with hadolint rules, then it has no ADD, no :latest, no npm install, no sudo, and exec-form CMDs', () => {
    const all = [...preamble, ...stages.flatMap((s) => s.instructions)];
    expect(all.filter((i) => i.keyword === 'ADD')).toEqual([]); // DL3020
    expect(stages.filter((s) => /:latest$|^[^:]+$/.test(s.from) && !stages.some((e) => e.name === s.from))).toEqual([]); // DL3007, DL3006
    const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.filter((r) => /\bnpm (install|i)\b/.test(r))).toEqual([]); // lockfile only: npm ci
    expect(runs.filter((r) => /\bsudo\b/.test(r))).toEqual([]); // DL3004
    expect(runs.filter((r) => /apt-get install/.test(r) && !/--no-install-recommends/.test(r))).toEqual([]); // DL3015
    expect(runs.filter((r) => /\bcd\s/.test(r))).toEqual([]); // DL3003: WORKDIR instead
    for (const w of all.filter((i) => i.keyword === 'WORKDIR')) expect(w.args).toMatch(/^\//); // DL3000
    stages.forEach((stage, i) => {
      // DL3022/DL3023: COPY --from names an earlier stage, never the stage itself.
      for (const c of stage.instructions.filter((x) => x.keyword === 'COPY' && x.args.startsWith('--from='))) {
        const from = /^--from=(\S+)/.exec(c.args)![1];
        expect(stages.slice(0, i).map((s) => s.name)).toContain(from);
      }
      for (const c of stage.instructions.filter((x) => x.keyword === 'CMD')) expect(() => execForm(c.args)).not.toThrow(); // DL3025
    });
    // The final image's user is not root, whatever an earlier stage set.
    const users = lineage(stages, 'runtime').filter((i) => i.keyword === 'USER');
    expect(users[users.length - 1]?.args).toBe('node'); // DL3002
  });

  it('When the build context is sent, then .dockerignore keeps out node_modules, dist, generated code, data and secrets', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'src/gen', 'src/generated', '.data', '.env', '.git']));
    // What the build needs stays in.
    for (const needed of ['src', 'scripts', 'proto', 'prisma', 'sandboxes', 'package.json', 'package-lock.json']) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe('docker-compose.yml', () => {
  // No YAML parser among the dependencies: the services are read as indented blocks, which this file keeps simple.
  const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const services = compose.slice(compose.indexOf('\nservices:\n'), compose.search(/\n(configs|volumes):\n/));
  const names = [...services.matchAll(/^ {2}([\w-]+):$/gm)].map((m) => m[1]);
  /** A service's lines (indented four spaces or more, comments dropped). */
  const block = (name: string): string => {
    const m = new RegExp(`^ {2}${name}:\\n((?: {4}.*\\n|\\s*\\n)*)`, 'm').exec(services + '\n');
    if (!m) throw new Error(`no service ${name} in docker-compose.yml`);
    return m[1].replace(/^\s*#.*\n/gm, '');
  };

  it('When composed, then paysvc and migrate run the runtime image and the sandbox its own stage', () => {
    expect(names).toEqual(expect.arrayContaining(['mysql', 'redis', 'sandbox', 'migrate', 'paysvc']));
    expect(compose).toMatch(/^x-paysvc-build: &paysvc-build\n {2}context: \.\n {2}target: runtime\n/m);
    expect(block('paysvc')).toMatch(/^ {4}build: \*paysvc-build$/m);
    expect(block('migrate')).toMatch(/^ {4}build: \*paysvc-build$/m);
    expect(block('sandbox')).toMatch(/^ {4}build:\n {6}context: \.\n {6}target: sandbox$/m);
    for (const target of compose.matchAll(/context: \.\n\s+target: (\S+)/g)) expect(stages.map((s) => s.name)).toContain(target[1]);
  });

  it('When composed, then paysvc runs the image CMD after migrate succeeded, and migrate runs a compiled script', () => {
    expect(block('paysvc')).not.toMatch(/^ {4}command:/m);
    expect(block('paysvc')).toMatch(/^ {4}depends_on:\n(?: {6}.*\n)*? {6}migrate:\n {8}condition: service_completed_successfully$/m);
    const [, migrate] = /^ {4}command: (\[.*\])$/m.exec(block('migrate')) ?? [];
    const argv = JSON.parse(migrate) as string[];
    expect(argv).toEqual(['node', 'dist/scripts/migrate.js']);
    expect(buildConfig.files).toContain(sourceOf(argv[1]));
    expect(block('migrate')).toMatch(/DATABASE_URL: \*database-url$/m);
    expect(block('paysvc')).toMatch(/DATABASE_URL: \*database-url$/m);
    // tsx is a devDependency: only the sandbox stage (the build stage's files) has it.
    expect(names.filter((n) => block(n).includes('tsx'))).toEqual(['sandbox']);
  });
});
