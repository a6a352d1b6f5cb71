import type { Metrics } from '../../infra/metrics';
import type { Interceptor } from './chain';
import { CallFailure } from './map-errors';

/** paysvc_rpc_duration_seconds by method and status code. */
export const rpcMetrics =
  (deps: { readonly metrics: Metrics }): Interceptor =>
  async (c, next) => {
    const started = performance.now();
    try {
      const res = await next(c);
      deps.metrics.rpcDuration.observe(c.method, 'OK', (performance.now() - started) / 1000);
      return res;
    } catch (err) {
      deps.metrics.rpcDuration.observe(c.method, CallFailure.of(err, c.ctx.expired()).code, (performance.now() - started) / 1000);
      throw err;
    }
  };
