import type { TransitionCause } from '../generated/prisma/enums';
import type { OrderStatus } from '../domain/order-status';
import type { Db } from '../infra/db';
import { fitActor, fitDetail, type EventType } from './history';
import { callProcedure } from './tx';

/**
 * A Prepay's claim of an order for a new attempt: the order becomes PAYING with the attempt as its current one (a
 * compare-and-set on its status and version, so of concurrent claims exactly one wins), its audit row, a retry's
 * outbox event and the attempt itself. All of it is one statement, the stored procedure `claim_attempt`
 * (prisma/migrations/20261206100000_claim_attempt), which runs the transaction inside the server: one round trip
 * and one statement's driver work, where BEGIN, three or four writes and COMMIT cost two round trips and six.
 * All or nothing without a client in the loop: any error inside rolls the whole transaction back and reaches us
 * (a lock wait timeout too, which a client-driven transaction would see rolled back for its statement only); a CALL
 * that failed without its handler running (a fatal error) is rolled back by callProcedure.
 */
export interface AttemptClaim {
  payNo: string;
  /** The order's status and version as read: the compare-and-set's condition. */
  from: OrderStatus;
  version: bigint;
  /** What the claim writes besides status PAYING, version + 1 and the current attempt. */
  payWay: string;
  payWaySwitches: number;
  /** A retry of a FAILED order: no longer closed for a failed payment. */
  clearCloseReason: boolean;
  attempt: { attemptNo: string; tenantId: string; channel: string; payerId: string; clientIp: string };
  audit: { cause: TransitionCause; actor: string; detail: string };
  /** The order side's event, already encoded (a retry's PAYMENT_RETRIED). */
  event?: { id: string; type: EventType; topic: string; payload: string };
  /** The time written as the order's updated_at and the rows' created_at. */
  now: Date;
}

/**
 * Runs the claim once; the new attempt's id, or null when another writer changed the order first (nothing written).
 * A deadlock or lock wait timeout is raised with everything rolled back, for the caller to try again
 * (retryConflicts). On a pooled connection of its own (callProcedure), never inside a transaction: there the
 * procedure's SET TRANSACTION fails (1568) and its handler's ROLLBACK would undo the caller's transaction.
 */
export async function claimAttempt(db: Db, c: AttemptClaim): Promise<bigint | null> {
  // A CALL answers its SELECT's rows, then the statement's own OK.
  const [rows] = await callProcedure<[Array<{ attempt_id: bigint | number | null }>, unknown]>(db, CLAIM_ATTEMPT, claimArgs(c));
  if (rows?.length !== 1) throw new Error('claim_attempt answered no row: is its migration applied?');
  const id = rows[0].attempt_id;
  return id === null ? null : BigInt(id);
}

/** The procedure's parameters, in its order (the migration's CREATE PROCEDURE). */
export function claimArgs(c: AttemptClaim): unknown[] {
  const { attempt: a, audit, event } = c;
  return [
    c.payNo,
    c.from,
    c.version,
    c.payWay,
    c.payWaySwitches,
    c.clearCloseReason,
    a.attemptNo,
    a.tenantId,
    a.channel,
    a.payerId,
    a.clientIp,
    audit.cause,
    fitActor(audit.actor),
    fitDetail(audit.detail),
    event?.id ?? null,
    event?.type ?? null,
    event?.topic ?? null,
    event?.payload ?? null,
    c.now,
  ];
}

export const CLAIM_ATTEMPT = `CALL claim_attempt(${Array.from({ length: 19 }, () => '?').join(', ')})`;
