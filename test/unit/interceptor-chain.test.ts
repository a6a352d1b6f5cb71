import { EventEmitter } from 'node:events';
import { Metadata, status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { unaryHandler, type Interceptor } from '../../src/grpc/interceptors/chain';
import { mapErrors } from '../../src/grpc/interceptors/map-errors';
import { NotFoundError } from '../../src/domain/errors';
import { INTERNAL_MESSAGE } from '../../src/grpc/errors';

/** Just enough of a grpc-js unary call for callContext: metadata, a deadline, cancellation events. */
function fakeCall(request: unknown): ServerUnaryCall<unknown, unknown> {
  return Object.assign(new EventEmitter(), {
    request,
    metadata: new Metadata(),
    getDeadline: () => Infinity,
  }) as unknown as ServerUnaryCall<unknown, unknown>;
}

function invoke(
  interceptors: Interceptor[],
  handler: () => Promise<unknown>,
): Promise<{ err: Partial<ServiceError> | null; res: unknown }> {
  return new Promise((resolve) => unaryHandler('Test', interceptors, handler)(fakeCall({}), (err, res) => resolve({ err, res })));
}

describe('Interceptor chain', () => {
  it('When interceptors are composed, then they run outermost first around the handler and see its result', async () => {
    const seen: string[] = [];
    const named =
      (name: string): Interceptor =>
      async (c, next) => {
        seen.push(`${name}>${c.method}`);
        const res = await next(c);
        seen.push(`<${name}`);
        return res;
      };
    const { err, res } = await invoke([named('a'), named('b')], () => {
      seen.push('handler');
      return Promise.resolve({ ok: true });
    });
    expect(err).toBeNull();
    expect(res).toEqual({ ok: true });
    expect(seen).toEqual(['a>Test', 'b>Test', 'handler', '<b', '<a']);
  });

  it('When the handler throws a domain error, then mapErrors answers its status and outer interceptors see the mapped code', async () => {
    let outerSaw: unknown;
    const outer: Interceptor = async (c, next) => {
      try {
        return await next(c);
      } catch (e) {
        outerSaw = e;
        throw e;
      }
    };
    const { err } = await invoke([outer, mapErrors], () =>
      Promise.reject(new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' })),
    );
    expect(err?.code).toBe(status.NOT_FOUND);
    expect(err?.details).toBe('order not found');
    expect((outerSaw as { code: string }).code).toBe('NOT_FOUND');
  });

  it('When something unexpected is thrown, then the caller gets INTERNAL with the fixed message, never the error text', async () => {
    const { err } = await invoke([mapErrors], () => Promise.reject(new Error('secret stack detail')));
    expect(err?.code).toBe(status.INTERNAL);
    expect(err?.details).toBe(INTERNAL_MESSAGE);
  });
});
