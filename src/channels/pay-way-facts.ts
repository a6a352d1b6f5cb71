import type { PayOrderHandler } from './types';

/** What a pay way handler says about itself, as opposed to what it does. */
export type PayWayFacts = Pick<
  PayOrderHandler,
  'payWay' | 'channel' | 'supportsQr' | 'supportsRefund' | 'requiredInputs' | 'notifySignatureHeaders'
>;

/** The facts of a pay way handler, copied once from where they come from (the catalog, or the handler it wraps). */
export abstract class HandlerFacts implements PayWayFacts {
  readonly payWay: PayWayFacts['payWay'];
  readonly channel: PayWayFacts['channel'];
  readonly supportsQr: boolean;
  readonly supportsRefund: boolean;
  readonly requiredInputs: PayWayFacts['requiredInputs'];
  readonly notifySignatureHeaders: readonly string[];

  protected constructor(facts: PayWayFacts) {
    this.payWay = facts.payWay;
    this.channel = facts.channel;
    this.supportsQr = facts.supportsQr;
    this.supportsRefund = facts.supportsRefund;
    this.requiredInputs = facts.requiredInputs;
    this.notifySignatureHeaders = facts.notifySignatureHeaders;
  }
}
