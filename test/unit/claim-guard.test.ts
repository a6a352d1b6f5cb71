import { allAnswered, underClaim } from '../../src/repo/claim-guard';

describe('underClaim', () => {
  it('When given a one-row INSERT … VALUES, then it is the same row as an INSERT … SELECT that yields it only under the claim', () => {
    expect(underClaim("INSERT INTO t (a, b, c) VALUES (?, 'X', ?)")).toBe(
      "INSERT INTO t (a, b, c) SELECT ?, 'X', ? FROM pay_order WHERE pay_no = ? AND current_attempt_no = ? AND @@in_transaction = 1",
    );
  });

  it('When given anything else (several rows, no VALUES, another statement), then it refuses rather than guess', () => {
    expect(() => underClaim('INSERT INTO t (a) VALUES (?), (?)')).toThrow('not a one-row INSERT');
    expect(() => underClaim('INSERT INTO t (a) SELECT a FROM u')).toThrow('not a one-row INSERT');
    expect(() => underClaim('UPDATE t SET a = ? WHERE b = ?')).toThrow('not a one-row INSERT');
  });
});

describe('allAnswered', () => {
  const deferred = () => {
    let resolve!: (v: string) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };

  it('When one of several fails, then it throws the first failure in order, and only once every one has settled', async () => {
    const [a, b, c] = [deferred(), deferred(), deferred()];
    let outcome: unknown;
    const all = allAnswered([a.promise, b.promise, c.promise]).then(
      () => (outcome = 'resolved'),
      (err: Error) => (outcome = err.message),
    );
    c.reject(new Error('c'));
    b.reject(new Error('b'));
    await new Promise(setImmediate); // every reaction to those two has run
    expect(outcome).toBeUndefined(); // a is still running
    a.resolve('a');
    await all;
    expect(outcome).toBe('b');
  });

  it('When all succeed, then it gives their values in order', async () => {
    await expect(allAnswered([Promise.resolve('x'), 2, null] as const)).resolves.toEqual(['x', 2, null]);
  });
});
