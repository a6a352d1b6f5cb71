import type { Deps } from '../app/deps';
import { callLogger, type CallLogFields, type Logger } from '../infra/logger';

const FIELDS = Symbol('callLogFields');
const LOG = Symbol('callLog');
type CallDeps = Deps & { [FIELDS]: CallLogFields; [LOG]?: Logger };

/**
 * The Deps each call's handler runs with: the service's own, except that `log` is the call's logger, so every
 * line a use case, channel or repository writes during the call names its request id and caller (the fields
 * are read when a line is written: the actor is set by auth after the call's Deps exist). The logger is made on
 * the first line; most calls write none. One object per call, inheriting everything else from the service's.
 */
export function callDepsOf(deps: Deps): (fields: CallLogFields) => Deps {
  const shared = Object.create(deps, {
    log: {
      enumerable: true,
      get(this: CallDeps): Logger {
        return (this[LOG] ??= callLogger(deps.log, this[FIELDS]));
      },
    },
  }) as Deps;
  return (fields) => {
    const d = Object.create(shared) as CallDeps;
    d[FIELDS] = fields;
    return d;
  };
}
