/**
 * Channel statements (issue 15): what every channel's statement parser yields (statement.ts), its refusals
 * (errors.ts), and the pieces parsers share (money and time cells, streaming text). The parsers themselves
 * live in their channel's folder (src/channels/<channel>/statement/): nothing here names a channel.
 */
export { StatementFormatError, type StatementProblem } from './errors';
export {
  StatementStream,
  readStatement,
  type StatementLine,
  type StatementLineKind,
  type StatementSummary,
  type StatementTotals,
} from './statement';
export type { StatementDownload, StatementFile, StatementSource } from './download';
