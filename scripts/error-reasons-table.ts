/** Prints docs/errors.md's reason table from src/domain/reasons.ts: `npx tsx scripts/error-reasons-table.ts`. */
import { REASONS } from '../src/domain/reasons';

const spec = (s: (typeof REASONS)[keyof typeof REASONS]): { retryDelayMs?: number } => s;
console.log('| Reason | Code | When | Retry? |\n| --- | --- | --- | --- |');
for (const [reason, s] of Object.entries(REASONS)) {
  const delay = spec(s).retryDelayMs;
  console.log(`| \`${reason}\` | \`${s.code}\` | ${s.when} | ${delay === undefined ? 'no' : `yes, after ${delay} ms`} |`);
}
