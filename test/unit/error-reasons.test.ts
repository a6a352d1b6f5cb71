import { status } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConcurrencyError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ShuttingDownError,
} from '../../src/domain/errors';
import { ERROR_DOMAIN, FALLBACK_REASONS, REASONS } from '../../src/domain/reasons';
import { failure, INTERNAL_MESSAGE, toServiceError } from '../../src/grpc/errors';
import { PaymentError } from '../../src/client/payment-error';
import { decodeStatus } from '../support/status-details';
import { UNIT_TESTED_REASONS } from './error-reasons.cases';

/** A status as the caller receives it, decoded with @bufbuild/protobuf. */
function mapped(err: unknown, deadlineExceeded = false) {
  const { error, unexpected } = toServiceError(err, deadlineExceeded);
  return { error, unexpected, decoded: decodeStatus({ metadata: error.metadata! }) };
}

/** How each reason no request can provoke on demand arises: the error its throw site raises. */
const RAISED: Record<(typeof UNIT_TESTED_REASONS)[number], () => { err: unknown; deadline?: boolean; metadata?: Record<string, string> }> =
  {
    ORDER_STATUS_CONFLICT: () => ({
      err: new FailedPreconditionError('order P1 is CLOSED and cannot become PAYING', {
        reason: 'ORDER_STATUS_CONFLICT',
        metadata: { payNo: 'P1', status: 'CLOSED', to: 'PAYING' },
      }),
      metadata: { payNo: 'P1', status: 'CLOSED', to: 'PAYING' },
    }),
    REFUND_NOT_SUPPORTED: () => ({
      err: new FailedPreconditionError('pay way X does not support refunds', {
        reason: 'REFUND_NOT_SUPPORTED',
        metadata: { payNo: 'P1', payWay: 'X' },
      }),
      metadata: { payNo: 'P1', payWay: 'X' },
    }),
    CONCURRENT_UPDATE: () => ({
      err: new ConcurrencyError('order P1 was changed concurrently; retry', { payNo: 'P1' }),
      metadata: { payNo: 'P1' },
    }),
    DATABASE_BUSY: () => ({ err: Object.assign(new Error('Transaction API error'), { code: 'P2028' }) }),
    SHUTTING_DOWN: () => ({ err: new ShuttingDownError('the server is shutting down; watch again') }),
    DEADLINE_EXCEEDED: () => ({ err: new Error('aborted'), deadline: true }),
    INTERNAL: () => ({ err: new TypeError('cannot read x of undefined at /src/app/secret.ts:12') }),
    // the fallbacks: an error of a class that names no reason
    NOT_FOUND: () => ({ err: new NotFoundError('thing not found') }),
    FAILED_PRECONDITION: () => ({ err: new FailedPreconditionError('not now') }),
    // no class falls back to these yet: their statuses are built directly, below
    UNAVAILABLE: () => ({ err: undefined }),
    UNAUTHENTICATED: () => ({ err: undefined }),
    PERMISSION_DENIED: () => ({ err: undefined }),
    RESOURCE_EXHAUSTED: () => ({ err: undefined }),
  };

describe('The reason table', () => {
  it('When a reason is listed, then it is UPPER_SNAKE_CASE with a code and a one-line meaning; RetryInfo only for UNAVAILABLE and ABORTED', () => {
    for (const [reason, spec] of Object.entries(REASONS)) {
      expect(reason).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(reason.length).toBeLessThanOrEqual(63);
      expect(status[spec.code]).toEqual(expect.any(Number));
      expect(spec.when).toMatch(/^[^\n]{10,240}$/);
      if (spec.retryDelayMs !== undefined) expect(['UNAVAILABLE', 'ABORTED']).toContain(spec.code);
      if (spec.code === 'UNAVAILABLE' || spec.code === 'ABORTED') expect(spec.retryDelayMs).toBeGreaterThan(0);
    }
  });

  it('When a code has no reason of its own, then its fallback is a reason of that very code', () => {
    for (const [code, reason] of Object.entries(FALLBACK_REASONS)) expect(REASONS[reason].code).toBe(code);
  });

  it('When docs/errors.md is read, then its table lists exactly the code table: reason, code, retry', () => {
    const doc = readFileSync(path.resolve(__dirname, '../../docs/errors.md'), 'utf8');
    const rows = doc
      .split('\n')
      .map((line) => /^\| `([A-Z_]+)` \| `([A-Z_]+)` \| (.+) \| (no|yes, after (\d+) ms) \|$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2], m[3], m[5] === undefined ? undefined : Number(m[5])]);
    expect(rows).toEqual(Object.entries(REASONS).map(([reason, s]) => [reason, s.code, s.when, s.retryDelayMs]));
  });
});

describe('Reasons no request provokes on demand, through the mapping the server uses', () => {
  const raised = UNIT_TESTED_REASONS.filter((r) => RAISED[r]().err !== undefined);
  it.each(raised)('When the error behind %s is thrown, then the status carries it, decoded from grpc-status-details-bin', (reason) => {
    const { err, deadline, metadata = {} } = RAISED[reason]();
    const spec = REASONS[reason];
    const { error, decoded } = mapped(err, deadline);
    expect(error.code).toBe(status[spec.code]);
    expect(decoded).toMatchObject({ code: status[spec.code], message: error.details });
    expect(decoded.errorInfo).toEqual({ reason, domain: ERROR_DOMAIN, metadata });
    expect(decoded.types).toEqual(['google.rpc.ErrorInfo', ...(spec.retryDelayMs ? ['google.rpc.RetryInfo'] : [])]);
    expect(decoded.retryDelayMs).toBe(spec.retryDelayMs);
  });

  it('When anything unexpected is thrown, then INTERNAL says the fixed message, never the stack, and it is logged', () => {
    const { error, unexpected, decoded } = mapped(RAISED.INTERNAL().err);
    expect(error.details).toBe(INTERNAL_MESSAGE);
    expect(unexpected).toBe(true);
    expect(JSON.stringify(decoded)).not.toContain('secret');
  });

  it.each(['UNAVAILABLE', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED'] as const)(
    'When a status is built for the fallback %s, then it has its code and ErrorInfo',
    (reason) => {
      const error = failure({ reason, message: 'no' });
      const decoded = decodeStatus(error);
      expect(error.code).toBe(status[REASONS[reason].code]);
      expect(decoded.errorInfo).toEqual({ reason, domain: ERROR_DOMAIN, metadata: {} });
    },
  );

  it('When a new error class names no reason and is added to no table, then it still maps, to INTERNAL, and is logged', () => {
    class NewError extends DomainError {}
    const { error, unexpected, decoded } = mapped(new NewError('something new'));
    expect(error.code).toBe(status.INTERNAL);
    expect(unexpected).toBe(true);
    expect(decoded.errorInfo?.reason).toBe('INTERNAL');
  });

  it('When a field is invalid, then BadRequest names it, and so do ErrorInfo.metadata and the old `field` trailer', () => {
    const { error, decoded } = mapped(new InvalidArgumentError('order.tenant_id', 'is required'));
    expect(decoded.fieldViolations).toEqual([{ field: 'order.tenant_id', description: 'is required' }]);
    expect(decoded.errorInfo?.metadata).toEqual({ field: 'order.tenant_id' });
    expect(error.metadata!.get('field')).toEqual(['order.tenant_id']);
  });
});

describe('The typed client reads the same details', () => {
  it('When a PaymentError is made from a status, then it exposes reason, domain, metadata, violations and retry delay', () => {
    const invalid = failure({
      reason: 'INVALID_ARGUMENT',
      message: 'amount: bad',
      metadata: { field: 'amount' },
      violations: [['amount', 'bad']],
    });
    const e1 = PaymentError.from({ ...invalid, name: 'x', message: '' } as never, 'req-1');
    expect(e1).toMatchObject({ code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', domain: 'payment.v1', field: 'amount' });
    expect(e1.fieldViolations).toEqual([{ field: 'amount', description: 'bad' }]);
    expect(e1.retryDelayMs).toBeUndefined();

    const busy = toServiceError(new ConcurrencyError('retry', { payNo: 'P9' }), false).error;
    const e2 = PaymentError.from({ ...busy, name: 'x', message: '' } as never, 'req-2');
    expect(e2).toMatchObject({ code: status.ABORTED, reason: 'CONCURRENT_UPDATE', metadata: { payNo: 'P9' }, retryDelayMs: 100 });
  });
});
