import { PayWay } from '../../gen/payment/v1/types';
import { defineChannel, type ChannelDeps } from '../channel-module';
import { PayWayHandler, buildChannel } from '../guarded-channel';
import { type MockAccount, mockAccountSchema } from './account';
import { MockAdapter } from './adapter';
import { NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature';

export { type MockAccount, type MockAccountConfig, mockAccountFor, mockAccountSchema } from './account';
export { MockAdapter } from './adapter';

const payWay = { defaultFeeRateBps: 0, requiredInputs: [], supportsRefund: true } as const;

/**
 * The mock channel: the sandbox gateway's signed JSON protocol. Never offered in production (see
 * src/channels/index.ts); elsewhere only to tenants with a mock account.
 */
export const mockChannel = defineChannel<MockAccount>({
  name: 'mock',
  notify: {
    pathSegment: 'mock',
    contentType: 'application/json',
    // A few hundred bytes.
    maxBodyBytes: 16 * 1024,
    keptHeaders: /^x-mock-.*$/i,
    signatureHeaders: [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER].map((h) => h.toLowerCase()),
  },
  account: {
    schema: mockAccountSchema,
    secretFields: ['secret'],
    identity: (a) => ({ appId: '', merchantId: a.merchantId }),
    absentMeansOff: true,
  },
  carriedIdentity: {
    paymentNotify: ['outTradeNo', 'merchantId'],
    refundNotify: ['outTradeNo', 'merchantId'],
    query: ['outTradeNo', 'merchantId'],
  },
  payWays: [
    { code: 'MOCK', name: 'Mock channel (sandbox cashier page)', protoNumber: PayWay.PAY_WAY_MOCK, supportsQr: false, ...payWay },
    { code: 'MOCK_QR', name: 'Mock channel (sandbox QR code)', protoNumber: PayWay.PAY_WAY_MOCK_QR, supportsQr: true, ...payWay },
  ],
  create({ timeoutMs }: ChannelDeps) {
    const adapter = new MockAdapter(timeoutMs);
    return {
      adapter,
      prepay: {
        MOCK: { prepay: (trade, account, signal) => adapter.prepay(trade, account, false, signal) },
        MOCK_QR: { prepay: (trade, account, signal) => adapter.prepay(trade, account, true, signal) },
      },
    };
  },
});

/** MOCK and MOCK_QR, guarded (for tests that talk to the gateway directly). */
export function mockHandlers(opts: ChannelDeps): PayWayHandler[] {
  return buildChannel(mockChannel, opts).handlers;
}
