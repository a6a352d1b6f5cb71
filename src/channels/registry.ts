import { FailedPreconditionError } from '../domain/errors';
import { ObservedHandler, type ChannelCallObserver } from './observed-handler';
import type { ChannelName, PayOrderHandler, PayWayCode } from './types';
import { PAY_WAYS } from './types';

/** The static catalog: what each pay way is, whatever tenant uses it. Fees are defaults a tenant may override. */
export const PAY_WAY_CATALOG: Readonly<Record<PayWayCode, { name: string; defaultFeeRateBps: number }>> = {
  MOCK: { name: 'Mock channel (sandbox cashier page)', defaultFeeRateBps: 0 },
  MOCK_QR: { name: 'Mock channel (sandbox QR code)', defaultFeeRateBps: 0 },
  ALIPAY_APP: { name: 'Alipay App', defaultFeeRateBps: 60 },
  ALIPAY_WAP: { name: 'Alipay mobile web (H5)', defaultFeeRateBps: 60 },
  ALIPAY_PAGE: { name: 'Alipay PC web', defaultFeeRateBps: 60 },
  ALIPAY_QR: { name: 'Alipay QR code (precreate)', defaultFeeRateBps: 60 },
  WECHAT_APP: { name: 'WeChat Pay App', defaultFeeRateBps: 60 },
  WECHAT_JSAPI: { name: 'WeChat Pay JSAPI (official account / mini program)', defaultFeeRateBps: 60 },
  WECHAT_NATIVE: { name: 'WeChat Pay Native (QR code)', defaultFeeRateBps: 60 },
  WECHAT_H5: { name: 'WeChat Pay H5', defaultFeeRateBps: 60 },
};

export const isPayWayCode = (v: string): v is PayWayCode => (PAY_WAYS as readonly string[]).includes(v);

/**
 * Maps each pay way to the handler that speaks its channel; a pay way without one is not available. With an
 * observer, every handler it hands out reports each channel call (the metrics), so no use case can forget to.
 */
export class ChannelRegistry {
  private readonly byWay = new Map<PayWayCode, PayOrderHandler>();

  constructor(handlers: readonly PayOrderHandler[], observe?: ChannelCallObserver) {
    for (const h of handlers) {
      if (this.byWay.has(h.payWay)) throw new Error(`two handlers for pay way ${h.payWay}`);
      this.byWay.set(h.payWay, observe ? new ObservedHandler(h, observe) : h);
    }
  }

  get(payWay: string): PayOrderHandler | undefined {
    return isPayWayCode(payWay) ? this.byWay.get(payWay) : undefined;
  }

  /** The handler for a pay way an order already used; its absence is a deployment error, not bad input. */
  require(payWay: string): PayOrderHandler {
    const h = this.get(payWay);
    if (!h) {
      throw new FailedPreconditionError(`pay way ${payWay} is not available on this deployment`, {
        reason: 'PAY_WAY_NOT_DEPLOYED',
        metadata: { payWay },
      });
    }
    return h;
  }

  /** Any handler of a channel: they share its notify verification and acknowledgement. */
  forChannel(channel: ChannelName): PayOrderHandler | undefined {
    for (const h of this.byWay.values()) if (h.channel === channel) return h;
    return undefined;
  }
}
