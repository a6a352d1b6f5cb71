import { authorize, tenantOf, type CallerAuth } from '../auth';
import type { Interceptor } from './chain';

/**
 * Who calls, and may they: the caller is authenticated and authorized for this method and the request's
 * tenant before the handler runs, so a refused call writes nothing. The caller's name becomes the actor.
 */
export const authenticate =
  (auth: CallerAuth): Interceptor =>
  async (c, next) => {
    const caller = auth.authenticate(c.call);
    c.ctx.actor = caller.name;
    c.logFields.actor = caller.name;
    authorize(caller, c.method, tenantOf(c.call.request));
    return next(c);
  };
