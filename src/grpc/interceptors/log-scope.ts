import { callLogFields } from '../../infra/logger';
import type { Interceptor } from './chain';

/** Every line logged while the call runs (use cases, channels, the database) names its request id and caller. */
export const logScope: Interceptor = (c, next) => callLogFields.run(c.logFields, next);
