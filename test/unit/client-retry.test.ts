import { status } from '@grpc/grpc-js';
import { mayRetry, neverSent } from '../../src/client/retry';

/** Which failure may be resent for which method (issue 16: retries across a server restart). */
describe('mayRetry', () => {
  const refused = { code: status.UNAVAILABLE, reason: '', details: 'No connection established. Last error: Error: connect ECONNREFUSED' };
  const dropped = { code: status.UNAVAILABLE, reason: '', details: 'Connection dropped' };
  const reset = { code: status.UNAVAILABLE, reason: '', details: 'read ECONNRESET' };
  const busy = { code: status.UNAVAILABLE, reason: 'DATABASE_BUSY', details: 'the database is busy' };
  const raced = { code: status.ABORTED, reason: 'CONCURRENT_UPDATE', details: 'retry' };

  it('When the call never left the client (no connection), then every method is resent, and it is not counted as sent', () => {
    expect(neverSent(refused)).toBe(true);
    for (const m of ['createOrder', 'prepay', 'refund', 'replayEvent', 'updatePayWay']) expect(mayRetry(m, refused)).toBe(true);
  });

  it('When the connection was lost after the call was sent, then only idempotent methods are resent', () => {
    for (const e of [dropped, reset]) {
      expect(neverSent(e)).toBe(false);
      for (const m of ['createOrder', 'prepay', 'query', 'cancel', 'refund', 'listOrders']) expect(mayRetry(m, e)).toBe(true);
      for (const m of ['replayEvent', 'updatePayWay', 'startReconciliation']) expect(mayRetry(m, e)).toBe(false);
    }
  });

  it('When the server answered that nothing changed (UNAVAILABLE with a reason, ABORTED), then every method is resent; other codes never', () => {
    for (const m of ['createOrder', 'replayEvent', 'updatePayWay']) {
      expect(mayRetry(m, busy)).toBe(true);
      expect(mayRetry(m, raced)).toBe(true);
      expect(mayRetry(m, { code: status.DEADLINE_EXCEEDED, reason: '', details: 'Deadline exceeded' })).toBe(false);
      expect(mayRetry(m, { code: status.INTERNAL, reason: 'INTERNAL', details: 'x' })).toBe(false);
    }
  });
});
