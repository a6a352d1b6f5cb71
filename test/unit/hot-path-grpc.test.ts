import { EventEmitter } from 'node:events';
import { Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { UnauthenticatedError } from '../../src/domain/errors';
import { SERVICE_NO } from '../../src/domain/identifiers';
import { newAttemptNo, newPayNo } from '../../src/domain/ids';
import { CallerAuth, type CallerPeer } from '../../src/grpc/auth';
import { callContext } from '../../src/grpc/call-context';
import { mintCaller } from '../../src/grpc/caller-token';

/** What the per-call work of the gRPC layer was cut to (issue 13) must still behave as before. */

function fakeCall(deadline: Date | number = Infinity): ServerUnaryCall<unknown, unknown> & { cancelled: boolean } {
  return Object.assign(new EventEmitter(), { metadata: new Metadata(), getDeadline: () => deadline, cancelled: false }) as never;
}

/** RequestContext.signal is optional in the type; callContext always gives one. */
const signalOf = (ctx: { signal?: AbortSignal }): AbortSignal => ctx.signal!;

const aborted = (signal: AbortSignal): Promise<unknown> =>
  signal.aborted
    ? Promise.resolve(signal.reason)
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)));

describe("The call's abort signal, made on first use", () => {
  it('When a call never asks for its signal, then it leaves no cancel listener behind it', () => {
    const call = fakeCall(Date.now() + 60_000);
    const ctx = callContext(call);
    expect(call.listenerCount('cancelled')).toBe(0);
    ctx.done();
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('When the caller cancelled before the signal was asked for, then the signal is already aborted', () => {
    const call = fakeCall();
    const ctx = callContext(call);
    call.cancelled = true;
    call.emit('cancelled');
    expect(signalOf(ctx).aborted).toBe(true);
    expect(String(signalOf(ctx).reason)).toContain('cancelled by caller');
  });

  it('When the caller cancels after the signal was asked for, then it aborts, and done() removes the listener', async () => {
    const call = fakeCall();
    const ctx = callContext(call);
    const signal = signalOf(ctx);
    expect([signal.aborted, call.listenerCount('cancelled')]).toEqual([false, 1]);
    call.cancelled = true;
    call.emit('cancelled');
    expect(String(await aborted(signal))).toContain('cancelled by caller');
    ctx.done();
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('When the deadline passed before the signal was asked for, then it is aborted at once; a later deadline aborts it then', async () => {
    expect(signalOf(callContext(fakeCall(Date.now() - 1))).aborted).toBe(true);
    const ctx = callContext(fakeCall(new Date(Date.now() + 30)));
    expect(ctx.expired()).toBe(false);
    expect(String(await aborted(signalOf(ctx)))).toContain('deadline exceeded');
    expect(ctx.expired()).toBe(true);
    ctx.done();
  });

  it('When the signal is asked for again, then it is the same signal', () => {
    const ctx = callContext(fakeCall());
    expect(signalOf(ctx)).toBe(signalOf(ctx));
    ctx.done();
  });
});

describe('Verified bearer tokens, kept per caller', () => {
  const orders = mintCaller('orders', { tenants: '*', permissions: ['pay'] });
  const pinned = mintCaller('pinned', { tenants: '*', permissions: ['pay'] });
  const auth = CallerAuth.fromConfig([orders.entry, { ...pinned.entry, certificate: { cn: 'pinned' } }]);
  const peer = (header: string, cert?: Partial<PeerCertificate>): CallerPeer => {
    const metadata = new Metadata();
    metadata.set('authorization', header);
    const full = cert && ({ fingerprint256: 'AB:'.repeat(31) + 'AB', ...cert } as PeerCertificate);
    return { metadata, getAuthContext: () => ({ sslPeerCertificate: full }) };
  };

  it('When a verified token is sent again, then it is the same caller; a token differing by a character or a space is refused', () => {
    for (let i = 0; i < 3; i++) expect(auth.authenticate(peer(`Bearer ${orders.token}`)).name).toBe('orders');
    expect(auth.authenticate(peer(`bearer ${orders.token}`)).name).toBe('orders');
    const last = orders.token.slice(-1) === 'A' ? 'B' : 'A';
    for (const wrong of [`${orders.token.slice(0, -1)}${last}`, `${orders.token}x`, orders.token.slice(0, -1)]) {
      expect(() => auth.authenticate(peer(`Bearer ${wrong}`))).toThrow(UnauthenticatedError);
    }
    expect(() => auth.authenticate(peer(`Bearer ${orders.token} `))).toThrow(UnauthenticatedError);
  });

  it('When a verified token belongs to a caller pinned to a certificate, then every call must still present that certificate', () => {
    expect(auth.authenticate(peer(`Bearer ${pinned.token}`, { subject: { CN: 'pinned' } })).name).toBe('pinned');
    expect(() => auth.authenticate(peer(`Bearer ${pinned.token}`))).toThrow(UnauthenticatedError);
    expect(() => auth.authenticate(peer(`Bearer ${pinned.token}`, { subject: { CN: 'other' } }))).toThrow(UnauthenticatedError);
  });
});

describe('Service numbers from a pooled random buffer', () => {
  it('When many numbers are issued in one second, across refills of the pool, then all differ and keep their shape', () => {
    const now = new Date('2026-12-02T04:05:06.789Z');
    const issued = Array.from({ length: 5000 }, (_, i) => (i % 2 ? newPayNo(now) : newAttemptNo(now)));
    expect(new Set(issued).size).toBe(issued.length);
    const misshapen = issued.filter((no) => !SERVICE_NO.test(no) || no.length !== 27 || no.slice(1, 15) !== '20261202040506');
    expect(misshapen).toEqual([]);
    expect(newPayNo(new Date('2026-12-02T04:05:07.000Z')).slice(1, 15)).toBe('20261202040507');
    expect(newPayNo(new Date('2026-12-02T04:05:06.999Z')).slice(1, 15)).toBe('20261202040506');
  });
});
