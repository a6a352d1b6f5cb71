import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The fake channel gateways live in sandboxes/ and may use the production channel code (signing, wire formats);
 * production code under src/ never reaches into sandboxes/, so the service image can leave them out.
 */
const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');
const SANDBOXES = path.join(ROOT, 'sandboxes');
/** Generated code is made per checkout and imports nothing of ours. */
const GENERATED = [path.join(SRC, 'gen'), path.join(SRC, 'generated')];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return GENERATED.includes(full) ? [] : sourceFiles(full);
    return /\.(c|m)?[jt]s$/.test(entry.name) ? [full] : [];
  });
}

/** Every module a file names: static imports and re-exports, `import()`, `require()`, `import x = require()`. */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The specifiers of `file` that lead into sandboxes/, relative ones resolved against the file's folder. */
function sandboxImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  return specifiers(text).filter((spec) => {
    if (!spec.startsWith('.')) return /(^|\/)sandboxes(\/|$)/.test(spec);
    const target = path.resolve(path.dirname(file), spec);
    return target === SANDBOXES || target.startsWith(`${SANDBOXES}${path.sep}`);
  });
}

describe('sandboxes stay out of production code', () => {
  it('When any file under src/ is read, then none of its imports reaches sandboxes/', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((file) => sandboxImports(file).map((spec) => `${path.relative(ROOT, file)} → ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('When src/ is listed, then no sandbox file is left in it', () => {
    const leftovers = sourceFiles(SRC)
      .map((file) => path.relative(ROOT, file))
      .filter((file) => /sandbox/i.test(file));
    expect(leftovers).toEqual([]);
  });

  it('When a file imports a sandbox in any of the ways TypeScript allows, then the check sees it', () => {
    const file = path.join(SRC, 'channels', 'example.ts');
    const text = [
      "import { a } from '../../sandboxes/kit/server';",
      "export { b } from '../../sandboxes/mock';",
      "const c = require('../../sandboxes/alipay/gateway');",
      "const d = import('../../sandboxes/wechat');",
      "import e = require('../../sandboxes');",
      "import { f } from './mock/signature';",
      "import { g } from '../sandboxes-like-name';",
      "import { h } from 'sandboxes/mock';",
    ].join('\n');
    expect(sandboxImports(file, text)).toEqual([
      '../../sandboxes/kit/server',
      '../../sandboxes/mock',
      '../../sandboxes/alipay/gateway',
      '../../sandboxes/wechat',
      '../../sandboxes',
      'sandboxes/mock',
    ]);
  });
});
