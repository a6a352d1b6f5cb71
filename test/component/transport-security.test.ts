import { Client, credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { PaymentClient } from '../../src/client';
import { mintCaller } from '../../src/grpc/caller-token';
import { OrderStatus, PayWay, TransitionCause } from '../../src/gen/payment/v1/types';
import { makeTestPki, type TestPki } from '../support/certs';
import { newTenant, startHarness, TEST_CALLER, uniq, type Harness } from '../support/harness';
import { rejection } from '../support/capture';
import { orderRequest } from '../support/orders';

/** Over TLS the name checked is the certificate's (DNS:localhost), whatever address the test dials. */
const TLS_NAME = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };
const FAST = { retry: { maxAttempts: 1 }, deadlineMs: 5000, channelOptions: TLS_NAME };

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

type HealthCheck = (req: { service: string }, md: Metadata, done: (err: ServiceError | null, res: { status: string }) => void) => void;

/** grpc.health.v1 Check of the whole server, over `creds`, without any caller credential. */
function healthCheck(address: string): Promise<string> {
  const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: unknown) => { check: HealthCheck; close(): void } } } };
  };
  const client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.check({ service: '' }, new Metadata(), (err: ServiceError | null, res: { status: string }) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  );
}

describe('TLS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ GRPC_TLS_CERT_FILE: pki.server.certFile, GRPC_TLS_KEY_FILE: pki.server.keyFile });
  });
  afterAll(() => h?.close());

  it('When a client trusts the CA and sends its token, then calls succeed over TLS', async () => {
    const client = new PaymentClient(h.address, { ...FAST, token: h.token, tls: { ca: pki.ca.cert } });
    try {
      const { order } = await client.createOrder(orderRequest(await newTenant(h)));
      expect(order!.status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);
    } finally {
      client.close();
    }
  });

  it('When a client speaks plaintext to the TLS port, then the call fails UNAVAILABLE and nothing is created', async () => {
    const client = new PaymentClient(h.address, { ...FAST, token: h.token });
    const req = orderRequest(await newTenant(h));
    try {
      expect((await rejection(client.createOrder(req))).code).toBe(status.UNAVAILABLE);
      expect(await h.service.deps.db.payOrder.count({ where: { tenantId: req.tenantId } })).toBe(0);
    } finally {
      client.close();
    }
  });

  it('When a client trusts another CA, then the server is not trusted (UNAVAILABLE)', async () => {
    const client = new PaymentClient(h.address, { ...FAST, token: h.token, tls: { ca: pki.rogueCa.cert } });
    try {
      expect((await rejection(client.listPayWays({ tenantId: uniq('t') }))).code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe('mTLS', () => {
  let h: Harness;
  // A caller known only by its client certificate (CN), allowed to pay, not to operate.
  const ordersSvc = { name: 'orders-svc', certificate: { cn: 'orders-svc' }, tenants: '*', permissions: ['pay'] };
  // A caller known by its SAN, and one whose token is bound to a certificate it does not have.
  const bySan = { name: 'by-san', certificate: { san: 'URI:spiffe://paysvc.test/orders-svc' }, tenants: '*', permissions: ['operate'] };
  const bound = mintCaller('bound', { tenants: '*', permissions: ['pay'] });
  beforeAll(async () => {
    h = await startHarness({
      GRPC_TLS_CERT_FILE: pki.server.certFile,
      GRPC_TLS_KEY_FILE: pki.server.keyFile,
      GRPC_TLS_CLIENT_CA_FILE: pki.ca.certFile,
      PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, ordersSvc, { ...bound.entry, certificate: { cn: 'someone-else' } }]),
    });
  });
  afterAll(() => h?.close());

  const mtls = (cert = pki.client) => ({ ca: pki.ca.cert, cert: cert.cert, key: cert.key });

  it('When a client presents a certificate from the client CA, then its identity is the caller: its grant applies and it is the actor', async () => {
    const client = new PaymentClient(h.address, { ...FAST, tls: mtls() });
    try {
      const tenantId = await newTenant(h);
      const { order } = await client.createOrder(orderRequest(tenantId));
      await client.prepay({ order: { tenantId, payNo: order!.payNo }, payWay: PayWay.PAY_WAY_MOCK });
      const { order: queried } = await client.query({ order: { tenantId, payNo: order!.payNo } });
      expect(queried!.transitions).toEqual([
        expect.objectContaining({
          toStatus: OrderStatus.ORDER_STATUS_PAYING,
          cause: TransitionCause.TRANSITION_CAUSE_RPC,
          actor: 'orders-svc',
        }),
      ]);
      // Its grant is pay only.
      expect((await rejection(client.listOrders({ tenantId }))).code).toBe(status.PERMISSION_DENIED);
    } finally {
      client.close();
    }
  });

  it('When a client presents a certificate from another CA, then the handshake is refused (UNAVAILABLE) and nothing is created', async () => {
    const client = new PaymentClient(h.address, { ...FAST, tls: mtls(pki.rogueClient) });
    const req = orderRequest(await newTenant(h));
    try {
      expect((await rejection(client.createOrder(req))).code).toBe(status.UNAVAILABLE);
      expect(await h.service.deps.db.payOrder.count({ where: { tenantId: req.tenantId } })).toBe(0);
    } finally {
      client.close();
    }
  });

  it('When a client presents no certificate, then the handshake is refused (UNAVAILABLE)', async () => {
    const client = new PaymentClient(h.address, { ...FAST, token: h.token, tls: { ca: pki.ca.cert } });
    try {
      expect((await rejection(client.listPayWays({ tenantId: uniq('t') }))).code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('When a token bound to another certificate identity is sent, then the call is UNAUTHENTICATED', async () => {
    const client = new PaymentClient(h.address, { ...FAST, token: bound.token, tls: mtls() });
    try {
      expect((await rejection(client.listPayWays({ tenantId: uniq('t') }))).code).toBe(status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('When a caller is configured by its SAN, then a certificate carrying that SAN maps to it', async () => {
    const other = await startHarness({
      GRPC_TLS_CERT_FILE: pki.server.certFile,
      GRPC_TLS_KEY_FILE: pki.server.keyFile,
      GRPC_TLS_CLIENT_CA_FILE: pki.ca.certFile,
      PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, bySan]),
    });
    const client = new PaymentClient(other.address, { ...FAST, tls: mtls() });
    try {
      const tenantId = await newTenant(other);
      expect((await client.listOrders({ tenantId })).orders).toEqual([]);
      expect((await rejection(client.listPayWays({ tenantId }))).code).toBe(status.PERMISSION_DENIED);
    } finally {
      client.close();
      await other.close();
    }
  });
});

describe('Without TLS (development)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  it('When grpc.health.v1 is asked without any credential, then it answers SERVING', async () => {
    expect(await healthCheck(h.address)).toBe('SERVING');
  });

  it('When the typed client has no token, then calls fail UNAUTHENTICATED; with the token, unary calls and WatchOrder work', async () => {
    const anonymous = new PaymentClient(h.address, FAST);
    const client = new PaymentClient(h.address, { ...FAST, token: h.token });
    try {
      const tenantId = await newTenant(h);
      expect((await rejection(anonymous.createOrder(orderRequest(tenantId)))).code).toBe(status.UNAUTHENTICATED);
      const { order } = await client.createOrder(orderRequest(tenantId));
      const ref = { tenantId, payNo: order!.payNo };
      const refused = await rejection(
        (async () => {
          for await (const o of anonymous.watchOrder(ref)) return o;
        })(),
      );
      expect(refused.code).toBe(status.UNAUTHENTICATED);
      for await (const o of client.watchOrder(ref)) {
        expect(o.payNo).toBe(order!.payNo);
        break;
      }
    } finally {
      anonymous.close();
      client.close();
    }
  });
});

/** One reflection request, list_services (field 7, empty), over v1alpha; resolves to the stream's status code. */
function reflectionStatus(address: string): Promise<status> {
  const client = new Client(address, credentials.createInsecure());
  const id = (b: Buffer) => b;
  const call = client.makeBidiStreamRequest('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', id, id, new Metadata(), {
    deadline: Date.now() + 5000,
  });
  return new Promise<status>((resolve) => {
    call.on('data', () => call.end());
    call.on('error', (e: ServiceError) => resolve(e.code));
    call.on('status', (s: { code: status }) => resolve(s.code));
    call.write(Buffer.from([0x3a, 0x00]));
  }).finally(() => client.close());
}

describe('Server reflection', () => {
  it('When GRPC_REFLECTION is false, then reflection is UNIMPLEMENTED; by default it answers, without any credential', async () => {
    const on = await startHarness();
    const off = await startHarness({ GRPC_REFLECTION: 'false' }, on);
    try {
      expect(await reflectionStatus(on.address)).toBe(status.OK);
      expect(await reflectionStatus(off.address)).toBe(status.UNIMPLEMENTED);
    } finally {
      await off.close();
      await on.close();
    }
  });
});

describe('Without any caller configured (development)', () => {
  it('When a call comes, even with a token, then it is UNAUTHENTICATED: no caller, no access', async () => {
    const h = await startHarness({ PAYSVC_CALLERS: '[]' });
    try {
      const tenantId = await newTenant(h);
      await expect(h.call('createOrder', orderRequest(tenantId))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      expect(await h.service.deps.db.payOrder.count({ where: { tenantId } })).toBe(0);
    } finally {
      await h.close();
    }
  });
});
