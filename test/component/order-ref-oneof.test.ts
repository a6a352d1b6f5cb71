import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { PaymentClient, type OrderRefInput } from '../../src/client';
import { PaymentServiceService, QueryRequest, QueryResponse } from '../../src/gen/payment/v1/payment_service';
import { OrderRef, OrderStatus } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder } from '../support/orders';

// OrderRef's pay_no and out_order_no are the oneof `key`: one key per reference, chosen by the type, not
// checked at run time. The old run-time refusal of "both" cannot be reached any more: protobuf decodes a
// oneof set twice on the wire as its last value, and these tests pin that down for clients built on the old
// proto (two plain fields, same numbers), which may still send both.

let h: Harness;
let TENANT: string;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-oneof');
});
afterAll(() => h.close());

/** A Query request's bytes whose OrderRef carries tenant_id, then `first`, then `second`, in that wire order. */
function queryWithBothKeys(tenantId: string, first: OrderRef['key'], second: OrderRef['key']): Uint8Array {
  const order = Buffer.concat([
    OrderRef.encode({ tenantId, key: first }).finish(),
    OrderRef.encode({ tenantId: '', key: second }).finish(),
  ]);
  return new BinaryWriter().uint32(10).bytes(order).finish();
}

/** Sends already-encoded Query bytes, as a client on the old proto would. */
function rawQuery(bytes: Uint8Array): Promise<QueryResponse> {
  return new Promise((resolve, reject) =>
    h.client.makeUnaryRequest(
      PaymentServiceService.query.path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => QueryResponse.decode(b),
      bytes,
      new Metadata(),
      { deadline: Date.now() + 10000 },
      (err: ServiceError | null, res?: QueryResponse) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

describe('OrderRef is a oneof', () => {
  it('When a raw request carries pay_no then out_order_no, then the last one on the wire (out_order_no) names the order', async () => {
    const order = await createOrder(h, TENANT);
    const bytes = queryWithBothKeys(TENANT, { $case: 'payNo', value: 'PNOSUCHORDER1' }, { $case: 'outOrderNo', value: order.outOrderNo });
    expect(QueryRequest.decode(bytes).order!.key).toEqual({ $case: 'outOrderNo', value: order.outOrderNo });
    const res = await rawQuery(bytes);
    expect(res.order!.payNo).toBe(order.payNo);
  });

  it('When a raw request carries out_order_no then pay_no, then the last one on the wire (pay_no) names the order', async () => {
    const order = await createOrder(h, TENANT);
    const bytes = queryWithBothKeys(TENANT, { $case: 'outOrderNo', value: uniq('none') }, { $case: 'payNo', value: order.payNo });
    expect(QueryRequest.decode(bytes).order!.key).toEqual({ $case: 'payNo', value: order.payNo });
    expect((await rawQuery(bytes)).order!.outOrderNo).toBe(order.outOrderNo);
    // And the other way round the earlier key is the one that is dropped: the order is not found by it.
    const wrongLast = queryWithBothKeys(TENANT, { $case: 'payNo', value: order.payNo }, { $case: 'outOrderNo', value: uniq('none') });
    await grpcError(rawQuery(wrongLast), status.NOT_FOUND);
  });

  it('When no key is set, then INVALID_ARGUMENT naming order; when a key is set but empty, then naming that field', async () => {
    const none = await grpcError(h.call('query', { order: { tenantId: TENANT, key: undefined }, sync: false }), status.INVALID_ARGUMENT);
    expect(none.metadata.get('field')).toEqual(['order']);
    const emptyPayNo = await grpcError(
      h.call('query', { order: { tenantId: TENANT, key: { $case: 'payNo', value: '' } }, sync: false }),
      status.INVALID_ARGUMENT,
    );
    expect(emptyPayNo.metadata.get('field')).toEqual(['order.pay_no']);
    const emptyOut = await grpcError(
      h.call('query', { order: { tenantId: TENANT, key: { $case: 'outOrderNo', value: '' } }, sync: false }),
      status.INVALID_ARGUMENT,
    );
    expect(emptyOut.metadata.get('field')).toEqual(['order.out_order_no']);
  });

  it('When the typed client is given a flat { tenantId, outOrderNo } or { tenantId, payNo }, then it sends the oneof and finds the order', async () => {
    const order = await createOrder(h, TENANT);
    const client = new PaymentClient(h.address, { token: h.token });
    try {
      const byOut = await client.query({ order: { tenantId: TENANT, outOrderNo: order.outOrderNo } });
      const byPayNo = await client.query({ order: { tenantId: TENANT, payNo: order.payNo } });
      expect(byOut.order!.payNo).toBe(order.payNo);
      expect(byPayNo.order!.status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);
      // @ts-expect-error one key per reference: the flat input refuses both at compile time.
      const both: OrderRefInput = { tenantId: TENANT, payNo: order.payNo, outOrderNo: order.outOrderNo };
      expect(both.tenantId).toBe(TENANT);
    } finally {
      client.close();
    }
  });
});
