import type { InFlight } from '../in-flight';
import type { Interceptor } from './chain';

/** Counts the call among the server's in-flight work, which a shutdown waits for before closing the database. */
export const trackInFlight =
  (inFlight: InFlight): Interceptor =>
  (c, next) =>
    inFlight.track(next(c));
