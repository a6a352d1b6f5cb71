import { NotFoundError } from '../domain/errors';
import type { RefundStatusResult } from '../channels/types';
import { findAttempt, findOrder } from '../repo/pay-orders';
import { findRefund, type Refund } from '../repo/refunds';
import { applyRefundStatus } from './apply-refund-status';
import { channelFor } from './channel-accounts';
import { refundRecord } from './channel-records';
import type { Deps, RequestContext } from './deps';
import { refundSnapshot } from './snapshots';
import { requireTenant } from './tenants';

/** Reads a refund; with sync, a pending refund is first asked about at its channel. */
export async function queryRefund(deps: Deps, tenantId: string, outRefundNo: string, sync: boolean, ctx: RequestContext): Promise<Refund> {
  await requireTenant(deps, tenantId);
  const refund = await findRefund(deps.db, tenantId, outRefundNo);
  if (!refund) throw new NotFoundError('refund not found', { reason: 'REFUND_NOT_FOUND' });
  if (!sync || refund.status !== 'PENDING') return refund;
  await syncRefund(deps, refund, ctx);
  return (await findRefund(deps.db, tenantId, outRefundNo)) ?? refund;
}

/** Asks the channel about a pending refund and applies its answer. */
async function syncRefund(deps: Deps, refund: Refund, ctx: RequestContext): Promise<RefundStatusResult['outcome']> {
  const order = await findOrder(deps.db, { tenantId: refund.tenantId, payNo: refund.payNo });
  const attempt = await findAttempt(deps.db, refund.attemptNo);
  if (!order || !attempt) throw new Error(`refund ${refund.refundNo} lost its order or attempt`);
  const { handler, call } = await channelFor(deps, refund.tenantId, attempt.payWay, ctx);
  const snapshot = refundSnapshot(order, refund);
  const status = await handler.queryRefund(snapshot, call);
  await applyRefundStatus(deps, refund, status, {
    cause: 'SYNC',
    actor: ctx.actor,
    record: refundRecord('query_refund', snapshot, status),
  });
  return status.outcome;
}
