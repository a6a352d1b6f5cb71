/**
 * Why a statement file was refused. A refused file is never half-used: the run that read it fails with this
 * error and applies nothing.
 * - FORMAT: a cell, row or section is not what the channel's format says (line and column named).
 * - TRUNCATED: the file ends before its footer or summary section.
 * - TOTALS: the lines do not add up to the file's own footer or summary (both figures named).
 * - HASH: the downloaded bytes do not match the digest the channel announced.
 * - ENCODING: bytes that are not valid GBK / UTF-8, or a zip that cannot be read.
 */
export type StatementProblem = 'FORMAT' | 'TRUNCATED' | 'TOTALS' | 'HASH' | 'ENCODING';

export class StatementFormatError extends Error {
  constructor(
    readonly problem: StatementProblem,
    message: string,
    readonly where: { file?: string; line?: number; column?: string } = {},
  ) {
    super(`${StatementFormatError.place(where)}${message}`);
    this.name = 'StatementFormatError';
  }

  private static place({ file, line, column }: { file?: string; line?: number; column?: string }): string {
    const parts = [file, line === undefined ? undefined : `line ${line}`, column === undefined ? undefined : `column ${column}`];
    const named = parts.filter((p) => p !== undefined);
    return named.length ? `${named.join(', ')}: ` : '';
  }
}
