import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ENV, … */
  keyword: string;
  /** The rest of the instruction, continuation lines joined with a space. */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  /** The image or earlier stage it starts from. */
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages in order (enough of the syntax for this repository's file: comments, `\` continuations). */
export function readDockerfile(file = path.join(ROOT, 'Dockerfile')): { preamble: Instruction[]; stages: Stage[] } {
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i].trim();
    if (text === '' || text.startsWith('#')) continue;
    while (text.endsWith('\\')) {
      text = text.slice(0, -1).trimEnd();
      // Comment lines inside a continuation are dropped, as Docker does.
      i++;
      while (i < lines.length && lines[i].trim().startsWith('#')) i++;
      text += ' ' + (lines[i] ?? '').trim();
    }
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(text) ?? [];
    const ins = { keyword: keyword.toUpperCase(), args, line: start + 1 };
    if (ins.keyword === 'FROM') {
      const [, from, name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ name: name ?? String(stages.length), from, instructions: [] });
    } else if (stages.length === 0) {
      preamble.push(ins);
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { preamble, stages };
}

/** A stage's instructions and those of the stages it is built FROM (ENV, USER, WORKDIR carry over). */
export function lineage(stages: Stage[], name: string): Instruction[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name} in the Dockerfile`);
  const parent = stages.find((s) => s.name === stage.from);
  return [...(parent ? lineage(stages, parent.name) : []), ...stage.instructions];
}

/** ENV of a stage (inherited ones included), `KEY=value` pairs only (the form this Dockerfile uses). */
export function envOf(stages: Stage[], name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of lineage(stages, name).filter((i) => i.keyword === 'ENV')) {
    for (const [, key, value] of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      env[key] = value.replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The exec form (JSON array) of a CMD, or of a HEALTHCHECK's CMD; throws on the shell form. */
export function execForm(args: string): string[] {
  const json = args.replace(/^(?:--\S+\s+)*CMD\s+/i, '');
  const argv: unknown = JSON.parse(json);
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return argv;
}

/** The one instruction of `keyword` in a stage (its own, not inherited). */
export function only(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  if (found.length !== 1) throw new Error(`stage ${stage.name} has ${found.length} ${keyword} instructions, expected 1`);
  return found[0];
}
