import { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { CallerAuth, type CallerPeer } from '../../src/grpc/auth';
import { UnauthenticatedError } from '../../src/domain/errors';

/** A call with no token that presents this (already verified) client certificate. */
function withCertificate(cert: Partial<PeerCertificate>): CallerPeer {
  const full = { fingerprint256: 'AA:'.repeat(31) + 'AA', ...cert } as PeerCertificate;
  return { metadata: new Metadata(), getAuthContext: () => ({ sslPeerCertificate: full }) };
}

describe('Certificate identities', () => {
  it('When a client certificate matches the identities of two callers, then it is UNAUTHENTICATED rather than whichever is listed first', () => {
    const auth = CallerAuth.fromConfig([
      { name: 'reporting', certificate: { cn: 'orders' }, tenants: ['t1'], permissions: ['operate'] },
      { name: 'orders', certificate: { cn: 'orders', san: 'DNS:orders.internal' }, tenants: '*', permissions: ['pay'] },
    ]);
    const peer = withCertificate({ subject: { CN: 'orders' }, subjectaltname: 'DNS:orders.internal' });
    expect(() => auth.authenticate(peer)).toThrow(UnauthenticatedError);
  });

  it('When a client certificate matches exactly one caller, then it is that caller', () => {
    const auth = CallerAuth.fromConfig([
      { name: 'reporting', certificate: { cn: 'reports' }, tenants: ['t1'], permissions: ['operate'] },
      { name: 'orders', certificate: { cn: 'orders' }, tenants: '*', permissions: ['pay'] },
    ]);
    const peer = withCertificate({ subject: { CN: 'orders' } });
    expect(auth.authenticate(peer).name).toBe('orders');
  });
});
