import { randomInt } from 'node:crypto';
import { PlatformSigner } from '../sandboxes/wechat/protocol';
import { paymentEventBody } from '../sandboxes/wechat/notifies';
import { beijingTime } from '../src/channels/wechat/transformers';

/** What the orchestrator set up (notify-fixture.ts) and the load process needs to speak as WeChat Pay. */
export interface NotifyFixture {
  tenantId: string;
  mchId: string;
  appId: string;
  amountFen: number;
  platformPrivateKey: string;
  platformPublicKeyId: string;
  apiV3Key: string;
  /** The attempt whose notify is delivered again and again (applied once before the warm-up). */
  duplicate: string;
  /** PAYING orders' OPEN attempts, one first delivery each. */
  fresh: string[];
}

/** One notify POST, ready to send: the raw body and every header, as WeChat Pay's notifier sends them. */
export interface SignedNotify {
  body: Buffer;
  headers: Record<string, string>;
}

/**
 * TRANSACTION.SUCCESS notifies built the way the WeChat sandbox builds them (sandbox/events.ts and its
 * PlatformSigner): the paid Transaction JSON encrypted with the APIv3 key, the envelope signed with the
 * platform key over `timestamp\nnonce\nbody\n`.
 */
export class NotifyBuilder {
  private readonly signer: PlatformSigner;

  constructor(private readonly f: NotifyFixture) {
    this.signer = new PlatformSigner(f.platformPrivateKey, f.platformPublicKeyId);
  }

  /** A new event (fresh event id) saying `attemptNo` was paid in full. */
  eventBody(attemptNo: string): string {
    const { appId, mchId, amountFen: total } = this.f;
    const transactionId = `4200${Array.from({ length: 24 }, () => randomInt(10)).join('')}`;
    const transaction = {
      appid: appId,
      mchid: mchId,
      out_trade_no: attemptNo,
      transaction_id: transactionId,
      trade_type: 'NATIVE',
      bank_type: 'OTHERS',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      attach: '',
      success_time: beijingTime(new Date()),
      payer: { openid: 'oBench0000000000000000000000' },
      amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
      promotion_detail: [],
    };
    return paymentEventBody(transaction, this.f.apiV3Key);
  }

  /** One delivery of `body`: fresh timestamp, nonce and signature, as on every WeChat retry. */
  deliver(body: string): SignedNotify {
    const bytes = Buffer.from(body, 'utf8');
    return {
      body: bytes,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': String(bytes.length),
        'User-Agent': 'Mozilla/4.0 (paysvc-bench)',
        ...this.signer.headers(body),
      },
    };
  }
}
