import type { Reason } from '../../src/domain/reasons';

/**
 * The reasons no request can provoke on demand (a lost race, a busy database, a stopping instance, a passed
 * deadline, a fault, a pay way without refunds, the per-code fallbacks): test/unit/error-reasons.test.ts covers
 * these; test/component/error-reasons.test.ts provokes every other reason through the real server.
 */
export const UNIT_TESTED_REASONS = [
  'ORDER_STATUS_CONFLICT',
  'REFUND_NOT_SUPPORTED',
  'CONCURRENT_UPDATE',
  'DATABASE_BUSY',
  'SHUTTING_DOWN',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
  'NOT_FOUND',
  'FAILED_PRECONDITION',
  'UNAVAILABLE',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
] as const satisfies readonly Reason[];
