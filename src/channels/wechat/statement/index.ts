/** WeChat Pay v3's trade bill: the parser (bill.ts) and the check of the download against hash_value (hash.ts). */
export { parseWechatBill, type WechatBillOptions } from './bill';
export { verifyWechatBill, type BillDigest } from './hash';
export type { BillBytes } from './bytes';
