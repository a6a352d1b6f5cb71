import { setFlagsFromString } from 'node:v8';

// V8's own predicate (a native syntax call) has no JavaScript spelling, so it is compiled from text once the flag
// that allows it is on: the flag is read when a function is parsed.
setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const predicate = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

/** Whether V8 keeps this object's properties in fast (map-described) storage rather than a hash table. */
export const hasFastProperties = (o: object): boolean => predicate(o);
