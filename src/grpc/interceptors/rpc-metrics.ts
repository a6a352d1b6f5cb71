import type { Metrics } from '../../infra/metrics';
import type { Interceptor } from './chain';
import { CallFailure } from './map-errors';

/** paysvc_rpc_duration_seconds by method and status code. */
export const rpcMetrics =
  (deps: { readonly metrics: Metrics }): Interceptor =>
  async (c, next) => {
    const timer = deps.metrics.rpcDuration.startTimer({ method: c.method });
    try {
      const res = await next(c);
      timer({ code: 'OK' });
      return res;
    } catch (err) {
      timer({ code: CallFailure.of(err, c.ctx.expired()).code });
      throw err;
    }
  };
