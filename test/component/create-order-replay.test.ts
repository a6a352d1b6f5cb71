import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, type Harness } from '../support/harness';
import { orderRequest, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const db = () => h.service.deps.db;

describe('CreateOrder retried after the order moved on', () => {
  it.each([
    ['no pay way', PayWay.PAY_WAY_UNSPECIFIED],
    ['the pay way Prepay then used', PayWay.PAY_WAY_MOCK],
    ['a pay way Prepay did not use', PayWay.PAY_WAY_MOCK_QR],
  ])(
    'When an order created with %s is prepaid and the identical CreateOrder is retried, then it replays the order as it now is',
    async (_, payWay) => {
      const req = orderRequest(await newTenant(h), { payWay });
      const created = await h.call('createOrder', req);
      await h.call('prepay', { order: ref(created.order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      const again = await h.call('createOrder', req);
      expect(again.replayed).toBe(true);
      expect(again.order).toMatchObject({
        payNo: created.order!.payNo,
        status: OrderStatus.ORDER_STATUS_PAYING,
        payWay: PayWay.PAY_WAY_MOCK,
      });
    },
  );

  it('When the retry names another pay way preference, then it replays too: pay_way on CreateOrder is only a preference', async () => {
    const req = orderRequest(await newTenant(h), { payWay: PayWay.PAY_WAY_MOCK });
    const created = await h.call('createOrder', req);
    const again = await h.call('createOrder', { ...req, payWay: PayWay.PAY_WAY_MOCK_QR });
    expect(again).toMatchObject({ replayed: true, order: { payNo: created.order!.payNo, payWay: PayWay.PAY_WAY_MOCK } });
  });

  it('When a retry after Prepay differs in a binding field, then ALREADY_EXISTS names only that field', async () => {
    const req = orderRequest(await newTenant(h));
    const created = await h.call('createOrder', req);
    await h.call('prepay', { order: ref(created.order!), payWay: PayWay.PAY_WAY_MOCK_QR, clientIp: '', payerId: '' });
    const err = await grpcError(h.call('createOrder', { ...req, amount: req.amount + 1n }), status.ALREADY_EXISTS);
    expect(err.metadata.get('conflicting-fields')).toEqual(['amount']);
  });

  it('When the caller gave up on a CreateOrder (deadline exceeded) that then committed, then the retry replays that order', async () => {
    const req = orderRequest(await newTenant(h));
    // Hold a gap lock on the order's (tenant_id, out_order_no), so the INSERT waits past the caller's deadline.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db().$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM pay_order WHERE tenant_id = ${req.tenantId} AND out_order_no = ${req.outOrderNo} FOR UPDATE`;
        locked();
        await released;
      },
      { timeout: 30_000 },
    );
    await isLocked;
    await grpcError(h.call('createOrder', req, 300), status.DEADLINE_EXCEEDED);
    expect(await db().payOrder.count({ where: { tenantId: req.tenantId, outOrderNo: req.outOrderNo } })).toBe(0);
    release();
    await holder;
    // The server kept going after the caller left: the order commits all the same.
    const committed = await eventually(() => db().payOrder.findFirst({ where: { tenantId: req.tenantId, outOrderNo: req.outOrderNo } }));
    const retry = await h.call('createOrder', req);
    expect(retry).toMatchObject({ replayed: true, order: { payNo: committed.payNo, status: OrderStatus.ORDER_STATUS_WAIT_PAY } });
    expect(await db().payOrder.count({ where: { tenantId: req.tenantId, outOrderNo: req.outOrderNo } })).toBe(1);
  });
});
