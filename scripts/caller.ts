/**
 * Mints a PaymentService caller:
 *
 *   npm run caller -- new <name> --tenants <a,b | *> --perm <pay,operate> [--cn <CN>] [--san <SAN>] [--sha256 <FP>]
 *                              [--no-token] [--file <callers.json>]
 *
 * Prints the caller's bearer token once (it is not stored anywhere: keep it in the calling service's secret
 * store) and the JSON entry for PAYSVC_CALLERS / PAYSVC_CALLERS_FILE, which holds only the token's SHA-256.
 * --cn/--san/--sha256 add an mTLS client certificate identity (with a token too, the caller must present both;
 * with --no-token, the certificate alone). With --file, the entry is added to that callers file (created if
 * missing); restart the service to load it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { callerList, type CallerConfig } from '../src/config';
import { mintCaller } from '../src/grpc/caller-token';

const USAGE =
  'usage: npm run caller -- new <name> --tenants <a,b|*> --perm <pay,operate,view> [--cn CN] [--san SAN] [--sha256 FP] [--no-token] [--file callers.json]';

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenants: { type: 'string' },
      perm: { type: 'string' },
      cn: { type: 'string' },
      san: { type: 'string' },
      sha256: { type: 'string' },
      'no-token': { type: 'boolean', default: false },
      file: { type: 'string' },
    },
  });
  const [command, name] = positionals;
  if (command !== 'new' || !name || !values.tenants || !values.perm) throw new Error(USAGE);
  const tenants =
    values.tenants === '*'
      ? '*'
      : values.tenants
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
  const permissions = values.perm.split(',').map((p) => p.trim()) as CallerConfig['permissions'];
  const { token, entry } = mintCaller(name, { tenants, permissions });
  const certificate = values.cn || values.san || values.sha256 ? { cn: values.cn, san: values.san, sha256: values.sha256 } : undefined;
  const caller: CallerConfig = {
    name,
    ...(!values['no-token'] && { tokenSha256: entry.tokenSha256 }),
    ...(certificate && { certificate: JSON.parse(JSON.stringify(certificate)) as typeof certificate }),
    tenants,
    permissions,
  };
  const existing = values.file && existsSync(values.file) ? (JSON.parse(readFileSync(values.file, 'utf8')) as unknown[]) : [];
  const checked = callerList.safeParse([...existing, caller]);
  if (!checked.success) throw new Error(checked.error.issues.map((i) => `${i.path.join('.') || '(list)'}: ${i.message}`).join('\n'));

  if (values.file) {
    writeFileSync(values.file, `${JSON.stringify(checked.data, null, 2)}\n`, { mode: 0o600 });
    process.stderr.write(`added caller ${name} to ${values.file}; restart paysvc to load it\n`);
  } else {
    process.stderr.write('the entry for PAYSVC_CALLERS (a JSON array) or PAYSVC_CALLERS_FILE:\n');
    process.stdout.write(`${JSON.stringify(caller)}\n`);
  }
  if (!values['no-token']) {
    process.stderr.write('the token, shown this once (send it as "authorization: Bearer <token>"):\n');
    process.stdout.write(`${token}\n`);
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`caller not created:\n${(err as Error).message}\n`);
  process.exit(1);
}
