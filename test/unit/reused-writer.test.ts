import { BinaryWriter } from '@bufbuild/protobuf/wire';
import * as servicePb from '../../src/gen/payment/v1/payment_service';
import * as reconciliationPb from '../../src/gen/payment/v1/reconciliation';
import { PaymentServiceService, QueryResponse, type ListOrdersResponse } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { loadDescriptorImage } from '../../src/grpc/descriptor-image';
import { ReusedWriter, withReusedWriter, type Encoder } from '../../src/grpc/reused-writer';

/** Every message the service's methods answer with, as server.ts hands them over. */
const generated = { ...servicePb, ...reconciliationPb };

const order = (payNo: string, attempts = 1) =>
  QueryResponse.fromPartial({
    order: {
      payNo,
      tenantId: 'tenant-a',
      outOrderNo: 'out-1',
      amount: 1999n,
      currency: 'CNY',
      subject: '商品 subject',
      payWay: PayWay.PAY_WAY_MOCK,
      status: OrderStatus.ORDER_STATUS_PAYING,
      extra: { source: 'test', 键: '值' },
      createTime: new Date('2026-12-04T11:54:06.119Z'),
      attempts: Array.from({ length: attempts }, (_, i) => ({ attemptNo: `A${i}`, paidAmount: BigInt(i), createTime: new Date(0) })),
    },
  });

/** The bytes ts-proto's own serializer writes, through a fresh writer. */
const generatedBytes = <T>(fns: Encoder<T>, message: T): Buffer => Buffer.from(fns.encode(message).finish());

describe('ReusedWriter', () => {
  it('When it encodes a large answer and then smaller ones, then each is byte for byte what a fresh writer writes', () => {
    const writer = new ReusedWriter();
    for (const message of [order('P-large', 40), order('P-small'), QueryResponse.fromPartial({}), order('P-again', 2)]) {
      expect(writer.encode(message, QueryResponse)).toEqual(generatedBytes(QueryResponse, message));
    }
  });

  it('When it encodes twice, then both go through the same writer', () => {
    const seen: BinaryWriter[] = [];
    const spy: Encoder<QueryResponse> = { encode: (m, w) => (seen.push(w!), QueryResponse.encode(m, w)) };
    const writer = new ReusedWriter();
    writer.encode(order('P-1'), spy);
    writer.encode(order('P-2'), spy);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
  });

  it('When an encode throws halfway, then the next answer carries nothing of it', () => {
    const writer = new ReusedWriter();
    const bad = order('P-bad');
    bad.order!.amount = 2n ** 70n; // not an int64: the encoder throws after writing the fields before it
    expect(() => writer.encode(bad, QueryResponse)).toThrow();
    const good = order('P-good');
    expect(writer.encode(good, QueryResponse)).toEqual(generatedBytes(QueryResponse, good));
  });

  it('When an answer is larger than the writer keeps (64 KiB), then it and the next are whole and exact', () => {
    const writer = new ReusedWriter();
    const huge = order('P-huge', 6000);
    const small = order('P-small-after');
    const hugeBytes = writer.encode(huge, QueryResponse);
    expect(hugeBytes.byteLength).toBeGreaterThan(64 * 1024);
    expect(hugeBytes).toEqual(generatedBytes(QueryResponse, huge));
    expect(writer.encode(small, QueryResponse)).toEqual(generatedBytes(QueryResponse, small));
  });

  it('When an answer is large, then the Buffer it returns is not overwritten by the next one', () => {
    const writer = new ReusedWriter();
    const first = writer.encode(order('P-first', 3), QueryResponse);
    const copy = Buffer.from(first);
    writer.encode(order('P-second', 3), QueryResponse);
    expect(first).toEqual(copy);
  });
});

describe('withReusedWriter', () => {
  it('When it wraps the PaymentService, then every method answers with the bytes of its own generated serializer', () => {
    const wrapped = withReusedWriter(PaymentServiceService, generated);
    expect(Object.keys(wrapped)).toEqual(Object.keys(PaymentServiceService));
    for (const [key, method] of Object.entries(PaymentServiceService)) {
      const fns = (generated as unknown as Record<string, Encoder<unknown> & { fromPartial(o: object): unknown }>)[
        `${method.path.split('/').pop()}Response`
      ];
      const message = fns.fromPartial({});
      const mine = (wrapped as Record<string, { responseSerialize: (v: unknown) => Buffer }>)[key].responseSerialize(message);
      expect(mine).toEqual((method.responseSerialize as (v: unknown) => Buffer)(message));
      expect({ ...wrapped[key as keyof typeof wrapped], responseSerialize: null }).toEqual({ ...method, responseSerialize: null });
    }
    const page: ListOrdersResponse = { orders: [order('P-listed').order!], nextPageToken: 'next' };
    expect(wrapped.listOrders.responseSerialize(page)).toEqual(PaymentServiceService.listOrders.responseSerialize(page));
  });

  it("When the proto is read, then every method's answer is the message the wrapper picks for it by name", () => {
    // The wrapper finds a method's encoder by the name buf lint holds it to; the compiled proto says the same.
    const service = loadDescriptorImage().registry.getService('payment.v1.PaymentService')!;
    const paths = new Set<string>(Object.values(PaymentServiceService).map((m) => m.path));
    expect(service.methods).toHaveLength(paths.size);
    for (const method of service.methods) {
      expect(paths.has(`/payment.v1.PaymentService/${method.name}`)).toBe(true);
      expect(method.output.typeName).toBe(`payment.v1.${method.name}Response`);
      expect(typeof (generated as unknown as Record<string, { encode?: unknown }>)[method.output.name]?.encode).toBe('function');
    }
  });

  it('When the main answers carry content, then the wrapped serializers write what the generated ones write', () => {
    const wrapped = withReusedWriter(PaymentServiceService, generated);
    const query = order('P-query', 2);
    expect(wrapped.query.responseSerialize(query)).toEqual(PaymentServiceService.query.responseSerialize(query));
    const created = { order: query.order, replayed: true };
    expect(wrapped.createOrder.responseSerialize(created)).toEqual(PaymentServiceService.createOrder.responseSerialize(created));
    const prepaid = servicePb.PrepayResponse.fromPartial({
      order: query.order,
      attemptNo: 'A1',
      payload: { $case: 'mockPayUrl', value: 'http://127.0.0.1/pay/A1' },
    });
    expect(wrapped.prepay.responseSerialize(prepaid)).toEqual(PaymentServiceService.prepay.responseSerialize(prepaid));
  });

  it('When a method has no generated FooResponse, then wrapping fails at once, naming it', () => {
    const odd = { ...PaymentServiceService, extra: { ...PaymentServiceService.query, path: '/payment.v1.PaymentService/Nope' } };
    expect(() => withReusedWriter(odd, generated)).toThrow('no generated message NopeResponse for /payment.v1.PaymentService/Nope');
  });
});
