import { status } from '@grpc/grpc-js';
import { PayWay } from '../../src/gen/payment/v1/types';
import { grpcError, startHarness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

describe('graceful shutdown', () => {
  it('When the server shuts down with a call in flight, then that call completes and new calls are refused', async () => {
    const h = await startHarness();
    try {
      const order = await createOrder(h, 't-shutdown');
      h.gateway.inject({ kind: 'hang', ms: 700 }, 1); // the prepay's channel call takes 700 ms
      const inFlight = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      await new Promise((r) => setTimeout(r, 200));
      const drained = h.service.grpc.shutdown(5000);
      const pre = await inFlight;
      expect(pre.payload?.$case).toBe('mockPayUrl');
      await drained;
      await grpcError(h.call('query', { order: ref(order), sync: false }, 1000), status.UNAVAILABLE);
    } finally {
      await h.close();
    }
  });
});
