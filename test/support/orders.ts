import type { CreateOrderRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type OrderRef, type PayOrder } from '../../src/gen/payment/v1/types';
import type { AlipayTenant } from './channels';
import { eventually, uniq, type Harness } from './harness';

/** A valid CreateOrder request for a fresh out_order_no. */
export function orderRequest(tenantId: string, over: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
  return {
    tenantId,
    outOrderNo: uniq('O'),
    amount: 10000n,
    currency: 'CNY',
    subject: 'Test goods',
    description: '',
    userId: 'u-1',
    payWay: PayWay.PAY_WAY_UNSPECIFIED,
    expireSeconds: 0,
    notifyTopic: 'order.pay.notify',
    attach: '',
    extra: {},
    clientIp: '',
    returnUrl: '',
    ...over,
  };
}

export async function createOrder(h: Harness, tenantId: string, over: Partial<CreateOrderRequest> = {}): Promise<PayOrder> {
  const { order } = await h.call('createOrder', orderRequest(tenantId, over));
  return order!;
}

export const ref = (o: PayOrder): OrderRef => ({ tenantId: o.tenantId, key: { $case: 'payNo', value: o.payNo } });

/** Creates an order and prepays it on the mock channel: PAYING, its buyer yet to pay. */
export async function prepaidOrder(h: Harness, tenantId: string, amount = 10000n): Promise<{ order: PayOrder; attemptNo: string }> {
  const order = await createOrder(h, tenantId, { amount });
  const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
  return { order, attemptNo: pre.attemptNo };
}

/** Creates an order, prepays it on the mock channel, lets the sandbox buyer pay and waits for SUCCESS. */
export async function paidOrder(h: Harness, tenantId: string, amount = 10000n): Promise<PayOrder> {
  const { order, attemptNo } = await prepaidOrder(h, tenantId, amount);
  h.gateway.pay(attemptNo);
  return eventually(async () => {
    const { order: o } = await h.call('query', { order: ref(order), sync: false });
    return o!.status === OrderStatus.ORDER_STATUS_SUCCESS && o;
  });
}

/**
 * An Alipay QR order the buyer scanned, that we cancelled, and that the buyer then pays anyway: the sandbox
 * accepts the payment after the close, and its notify leaves now.
 */
export async function paidAfterCancel(h: Harness, ali: AlipayTenant, amount: bigint): Promise<{ order: PayOrder; attemptNo: string }> {
  const order = await createOrder(h, ali.tenantId, { amount });
  const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
  ali.sandbox.scan(pre.attemptNo);
  const cancelled = await h.call('cancel', { order: ref(order), reason: 'timeout' });
  if (cancelled.order?.status !== OrderStatus.ORDER_STATUS_CLOSED) throw new Error(`cancel left the order ${cancelled.order?.status}`);
  ali.sandbox.inject({ kind: 'successAfterClose' }, 1);
  ali.sandbox.pay(pre.attemptNo);
  return { order, attemptNo: pre.attemptNo };
}

/** Prepay on `payWay` with a client IP (as a buyer's browser would give one). */
export const prepayOn = (h: Harness, order: PayOrder, payWay: PayWay) =>
  h.call('prepay', { order: ref(order), payWay, clientIp: '127.0.0.1', payerId: '' });

/** The order's mock-channel attempts, oldest first: our status and what the mock gateway says of each. */
export const mockAttempts = async (h: Harness, order: PayOrder) =>
  (await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } })).map((a) => ({
    attemptNo: a.attemptNo,
    status: a.status,
    atChannel: h.gateway.trade(a.attemptNo)?.status ?? 'never sent',
  }));

/** The order's row as the database has it now. */
export const orderRow = (h: Harness, order: PayOrder) => h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
