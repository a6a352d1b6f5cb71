/** Channel statements (issue 15): pure, streaming parsers. See statement.ts for the shape every parser yields. */
export { parseAlipayStatement } from './alipay';
export { parseWechatBill, type WechatBillOptions } from './wechat/bill';
export { verifyWechatBill, type BillDigest } from './wechat/hash';
export type { BillBytes } from './wechat/bytes';
export { StatementFormatError, type StatementProblem } from './errors';
export {
  StatementStream,
  readStatement,
  type StatementChannel,
  type StatementLine,
  type StatementLineKind,
  type StatementSummary,
  type StatementTotals,
} from './statement';
