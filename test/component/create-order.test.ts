import { status } from '@grpc/grpc-js';
import type { CreateOrderRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';

let h: Harness;
let TENANT: string;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-create');
});
afterAll(() => h.close());

function request(over: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
  return {
    tenantId: TENANT,
    outOrderNo: uniq('O'),
    amount: 8888n,
    currency: 'CNY',
    subject: 'Test goods',
    description: 'two items',
    userId: 'u-1',
    payWay: PayWay.PAY_WAY_UNSPECIFIED,
    expireSeconds: 0,
    notifyTopic: 'order.pay.notify',
    attach: 'cart=42',
    extra: { channel: 'app' },
    clientIp: '10.1.2.3',
    returnUrl: 'https://shop.example/return',
    ...over,
  };
}

const countOrders = (tenantId: string, outOrderNo: string) => h.service.deps.db.payOrder.count({ where: { tenantId, outOrderNo } });

describe('CreateOrder', () => {
  it('When a new order is created, then it is WAIT_PAY with the default 30 minute expiry and every field kept', async () => {
    const req = request();
    const before = Date.now();
    const { order, replayed } = await h.call('createOrder', req);
    const after = Date.now();
    expect(replayed).toBe(false);
    expect(order).toMatchObject({
      tenantId: req.tenantId,
      outOrderNo: req.outOrderNo,
      amount: 8888n,
      currency: 'CNY',
      status: OrderStatus.ORDER_STATUS_WAIT_PAY,
      notifyTopic: 'order.pay.notify',
      attach: 'cart=42',
      extra: { channel: 'app' },
      version: 1n,
    });
    expect(order!.payNo).toMatch(/^P\d{14}[0-9A-Z]{12}$/);
    // 30 minutes from the moment the server took the order, which lies between `before` and `after` however
    // long the call took (the margin of a second is the stored precision).
    const expireAt = order!.expireTime!.getTime();
    expect(expireAt).toBeGreaterThan(before + 1799_000);
    expect(expireAt).toBeLessThan(after + 1801_000);
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order!.payNo } });
    expect(row).toMatchObject({ amount: 8888n, status: 'WAIT_PAY', expireSeconds: 1800, clientIp: '10.1.2.3' });
  });

  it('When the identical request is replayed, then the same order comes back and nothing new is written', async () => {
    const req = request();
    const first = await h.call('createOrder', req);
    const again = await h.call('createOrder', { ...req, clientIp: '10.9.9.9' }); // the client IP is not binding
    expect(again.replayed).toBe(true);
    expect(again.order!.payNo).toBe(first.order!.payNo);
    expect(await countOrders(req.tenantId, req.outOrderNo)).toBe(1);
  });

  it('When concurrent identical requests race, then exactly one order exists and all get its pay_no', async () => {
    const req = request();
    const results = await Promise.all(Array.from({ length: 10 }, () => h.call('createOrder', req)));
    expect(new Set(results.map((r) => r.order!.payNo)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await countOrders(req.tenantId, req.outOrderNo)).toBe(1);
  });

  it('When a replay differs in binding fields, then ALREADY_EXISTS names them', async () => {
    const req = request();
    await h.call('createOrder', req);
    const err = await grpcError(h.call('createOrder', { ...req, amount: 1n, notifyTopic: 'other.topic' }), status.ALREADY_EXISTS);
    expect(err.details).toContain('amount');
    expect(err.details).toContain('notify_topic');
    expect(err.metadata.get('conflicting-fields')).toEqual(['amount,notify_topic']);
    expect(await countOrders(req.tenantId, req.outOrderNo)).toBe(1);
  });

  it('When the same out_order_no is used by another tenant, then it is a different order', async () => {
    const req = request();
    const a = await h.call('createOrder', req);
    const b = await h.call('createOrder', { ...req, tenantId: await newTenant(h, 't-create-other') });
    expect(b.replayed).toBe(false);
    expect(b.order!.payNo).not.toBe(a.order!.payNo);
  });

  const invalid: Array<[string, Partial<CreateOrderRequest>, string]> = [
    ['missing tenant', { tenantId: '' }, 'tenant_id'],
    ['bad out_order_no', { outOrderNo: 'has space' }, 'out_order_no'],
    ['zero amount', { amount: 0n }, 'amount'],
    ['negative amount', { amount: -5n }, 'amount'],
    ['amount over the ceiling', { amount: 10_000_000_001n }, 'amount'],
    ['unsupported currency', { currency: 'usd' }, 'currency'],
    ['empty subject', { subject: '' }, 'subject'],
    ['expiry too short', { expireSeconds: 30 }, 'expire_seconds'],
    ['expiry too long', { expireSeconds: 86401 }, 'expire_seconds'],
    ['topic with a colon', { notifyTopic: 'bad:topic' }, 'notify_topic'],
    ['missing topic', { notifyTopic: '' }, 'notify_topic'],
    ['attach over 128 bytes', { attach: '支'.repeat(43) }, 'attach'],
    ['bad client ip', { clientIp: '999.1.1.1' }, 'client_ip'],
    ['bad return url', { returnUrl: 'javascript:alert(1)' }, 'return_url'],
    ['unknown pay way', { payWay: 99 as PayWay }, 'pay_way'],
  ];
  it.each(invalid)('When the request has %s, then INVALID_ARGUMENT names the field and nothing is written', async (_, over, field) => {
    const req = request(over);
    const err = await grpcError(h.call('createOrder', req), status.INVALID_ARGUMENT);
    expect(err.details.startsWith(`${field}:`)).toBe(true);
    expect(err.metadata.get('field')).toEqual([field]);
    expect(await h.service.deps.db.payOrder.count({ where: { outOrderNo: req.outOrderNo } })).toBe(0);
  });
});
