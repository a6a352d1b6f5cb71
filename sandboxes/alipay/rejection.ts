/** A request the sandbox refuses, answered as Alipay does: a signed `{code, msg, sub_code, sub_msg}`. */
export class AlipayRejection extends Error {
  constructor(
    readonly code: string,
    readonly subCode: string,
    readonly subMsg: string,
  ) {
    super(`${code} ${subCode}: ${subMsg}`);
  }

  answer(): Record<string, string> {
    return { code: this.code, msg: MESSAGES[this.code] ?? 'Business Failed', sub_code: this.subCode, sub_msg: this.subMsg };
  }
}

const MESSAGES: Record<string, string> = {
  '20000': 'Service Currently Unavailable',
  '40001': 'Missing Required Arguments',
  '40002': 'Invalid Arguments',
  '40004': 'Business Failed',
};

/** 40004 with an ACQ.* sub code: the business refusals. */
export const businessFailure = (subCode: string, subMsg: string) => new AlipayRejection('40004', subCode, subMsg);
