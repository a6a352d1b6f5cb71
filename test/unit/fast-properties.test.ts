import { EventEmitter } from 'node:events';
import { giveFastProperties } from '../../src/infra/fast-properties';
import { hasFastProperties } from '../support/v8-layout';

/** An object built as the mariadb driver builds a connection's options: 63 properties assigned onto an emitter. */
function driverLikeOptions(): EventEmitter & Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (let i = 0; i < 63; i++) options[`option${i}`] = i % 2 ? `value${i}` : i;
  return Object.assign(new EventEmitter(), options);
}

describe('giveFastProperties', () => {
  it('When an object was built by Object.assign with many properties, then V8 holds it as a hash table until given fast properties', () => {
    const opts = driverLikeOptions();
    expect(hasFastProperties(opts)).toBe(false); // what the driver leaves: every per-statement copy is slow

    giveFastProperties(opts);

    expect(hasFastProperties(opts)).toBe(true);
  });

  it('When given fast properties, then the object is the same object: its properties, prototype and listeners stay', () => {
    const opts = driverLikeOptions();
    const heard: unknown[] = [];
    opts.on('change', (x) => heard.push(x));
    const before = Object.entries(opts);

    giveFastProperties(opts);

    expect(Object.entries(opts)).toEqual(before);
    expect(Object.getPrototypeOf(opts)).toBe(EventEmitter.prototype);
    opts.emit('change', 1);
    expect(heard).toEqual([1]);
    opts.option1 = 'changed'; // still an ordinary, writable object
    expect(Object.assign({}, opts, { rowsAsArray: true })).toMatchObject({ option1: 'changed', option2: 2, rowsAsArray: true });
  });
});
