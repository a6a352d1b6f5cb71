/**
 * Gives an object that V8 keeps as a hash table ("dictionary mode") fast properties again, in place. V8 turns an
 * object into one once more than about a dozen properties are added to it by keyed stores, as Object.assign adds
 * them: the mariadb driver builds each connection's options so (`Object.assign(new EventEmitter(), options)`, 63
 * properties), then copies them into a fresh object for every statement that carries options of its own
 * (`Object.assign({}, connOpts, cmdOpts)`: every Prisma query and every `rowsAsArray` read). From a hash table that
 * copy costs ~14 µs here; from fast properties ~1.7 µs.
 *
 * There is no API for it, but V8 migrates an object to fast properties when it serves as a prototype that property
 * lookups walk through (its prototype optimisation); a lookup site does so once it has feedback, after a few calls.
 * Nothing about the object changes but its layout (its properties, prototype and identity stay), so on an engine
 * that does not do this it only stays slow. test/unit/fast-properties.test.ts checks it does on ours.
 */
export function giveFastProperties(obj: object): void {
  function Holder(): void {}
  Holder.prototype = obj;
  const receiver = new (Holder as unknown as new () => Record<string, unknown>)();
  const lookUp = (): unknown => receiver.noSuchProperty;
  for (let i = 0; i < LOOKUPS; i++) lookUp();
}

/** V8 allocates a function's feedback after a handful of calls (5 sufficed on Node 20); a margin costs nothing. */
const LOOKUPS = 64;
