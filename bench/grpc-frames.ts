import { CreateOrderRequest, PrepayRequest, QueryRequest } from '../src/gen/payment/v1/payment_service';
import { PayWay } from '../src/gen/payment/v1/types';
import { DEFAULT_EXPIRE_SECONDS, type CreateOrderCommand } from '../src/app/create-order';

/** Request bodies on the wire: the 5-byte gRPC prefix (uncompressed flag, big-endian length) + protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export const TENANT = 'bench';

/** The bench's order as the use case takes it, with this out_order_no (the in-process benches and the floors). */
export function benchOrderCommand(outOrderNo: string): CreateOrderCommand {
  return {
    tenantId: TENANT,
    outOrderNo,
    amount: 1999n,
    currency: 'CNY',
    subject: 'Bench order',
    description: 'one unit of benchmark goods',
    userId: 'u-bench',
    payWay: 'MOCK',
    notifyTopic: 'payment-events',
    attach: 'bench',
    extra: { source: 'bench' },
    clientIp: '127.0.0.1',
    returnUrl: '',
    expireSeconds: DEFAULT_EXPIRE_SECONDS,
  };
}

/** A realistic order, everything but out_order_no, encoded once. */
const CREATE_ORDER_BASE = CreateOrderRequest.encode(
  CreateOrderRequest.fromPartial({
    tenantId: TENANT,
    amount: 1999n,
    currency: 'CNY',
    subject: 'Bench order',
    description: 'one unit of benchmark goods',
    userId: 'u-bench',
    payWay: PayWay.PAY_WAY_MOCK,
    notifyTopic: 'payment-events',
    attach: 'bench',
    extra: { source: 'bench' },
    clientIp: '127.0.0.1',
  }),
).finish();

/**
 * CreateOrder with a fresh out_order_no, without re-encoding the order: protobuf fields may come in any order,
 * so the pre-encoded base is followed by field 2 (tag 0x12, length, ASCII id).
 */
export function createOrderFrame(outOrderNo: string): Buffer {
  const id = Buffer.from(outOrderNo, 'latin1');
  if (id.length > 127) throw new Error('out_order_no too long for a one-byte length');
  const body = Buffer.allocUnsafe(CREATE_ORDER_BASE.length + 2 + id.length);
  body.set(CREATE_ORDER_BASE, 0);
  body[CREATE_ORDER_BASE.length] = 0x12;
  body[CREATE_ORDER_BASE.length + 1] = id.length;
  id.copy(body, CREATE_ORDER_BASE.length + 2);
  return grpcFrame(body);
}

export function prepayFrame(outOrderNo: string): Buffer {
  const req = PrepayRequest.fromPartial({
    order: { tenantId: TENANT, key: { $case: 'outOrderNo', value: outOrderNo } },
    payWay: PayWay.PAY_WAY_MOCK,
    clientIp: '127.0.0.1',
  });
  return grpcFrame(PrepayRequest.encode(req).finish());
}

export function queryFrame(outOrderNo: string): Buffer {
  return grpcFrame(
    QueryRequest.encode(
      QueryRequest.fromPartial({ order: { tenantId: TENANT, key: { $case: 'outOrderNo', value: outOrderNo } }, sync: false }),
    ).finish(),
  );
}

/** Fails loudly if the spliced CreateOrder body does not decode to what the service will see. */
export function selfCheckCreateOrderFrame(): void {
  const frame = createOrderFrame('self-check-1');
  const decoded = CreateOrderRequest.decode(frame.subarray(5));
  if (frame.readUInt32BE(1) !== frame.length - 5 || decoded.outOrderNo !== 'self-check-1' || decoded.amount !== 1999n) {
    throw new Error('createOrderFrame produced a body that does not decode as intended');
  }
}

export const PATHS = {
  echo: '/bench.Echo/Echo',
  createOrder: '/payment.v1.PaymentService/CreateOrder',
  prepay: '/payment.v1.PaymentService/Prepay',
  query: '/payment.v1.PaymentService/Query',
} as const;
