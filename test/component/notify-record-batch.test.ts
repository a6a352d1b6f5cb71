import { closeDb, createDb, type Db } from '../../src/infra/db';
import { recordNotify, type NotifyLogEntry } from '../../src/repo/notifies';
import { sqlOf } from '../../src/repo/sql';
import { uniq } from '../support/harness';

/**
 * Notify records written outside a transaction (a duplicate's, a refused notify's) are group-committed: those that
 * arrive while one INSERT is on the wire share the next one. Each caller still waits for its own row, and one
 * row that cannot be written fails its caller only.
 */
let db: Db;
beforeAll(() => {
  db = createDb(process.env.DATABASE_URL!, 4); // a client of its own: nothing else counts on its runner
});
afterAll(() => closeDb(db));

const entry = (notifyId: string, over: Partial<NotifyLogEntry> = {}): NotifyLogEntry => ({
  channel: 'mock',
  tenantId: 't-record-batch',
  notifyId,
  payNo: null,
  kind: 'payment',
  rawPayload: `{"notify_id":"${notifyId}","note":"ü 🍵"}`,
  payloadBytes: 40,
  payloadSha256: 'a'.repeat(64),
  headers: { 'content-type': 'application/json' },
  signatureValid: true,
  result: 'DUPLICATE',
  detail: 'already applied',
  ...over,
});

const stored = (ids: string[]) =>
  db.notifyRecord.findMany({ where: { notifyId: { in: ids } }, orderBy: { id: 'asc' } }).then((rows) => rows.map((r) => r.notifyId));

describe('notify records outside a transaction', () => {
  it('When twenty are written at once, then they take five INSERTs (four at once, alone; the sixteen that came meanwhile together) and each is stored when its promise resolves', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => uniq(`NB${i}-`));
    const before = sqlOf(db).statements;
    const written = ids.map((id) => recordNotify(db, entry(id)).then(() => stored([id])));
    // Each promise resolved after its own row was committed: the read behind it finds the row.
    expect(await Promise.all(written)).toEqual(ids.map((id) => [id]));
    expect(sqlOf(db).statements - before).toBe(5);
    // The first four went alone, on four connections, so they commit in any order; the sixteen that shared one
    // INSERT are stored in the order they were written.
    const order = await stored(ids);
    expect([...order].sort()).toEqual([...ids].sort());
    expect(order.filter((id) => ids.indexOf(id) >= 4)).toEqual(ids.slice(4));
    const row = await db.notifyRecord.findFirstOrThrow({ where: { notifyId: ids[7] } });
    expect(row).toMatchObject({
      rawPayload: entry(ids[7]).rawPayload,
      headers: { 'content-type': 'application/json' },
      result: 'DUPLICATE',
    });
  });

  it('When one row of a batch cannot be written, then its caller alone gets the error and the others are stored', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => uniq(`NF${i}-`));
    const tooLong = 'c'.repeat(17); // channel is VARCHAR(16): strict mode refuses the row
    const outcomes = await Promise.allSettled(ids.map((id, i) => recordNotify(db, entry(id, i === 3 ? { channel: tooLong } : {}))));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/too long/i);
    // Retried one by one after the batch failed, at once: in any order.
    expect((await stored(ids)).sort()).toEqual(ids.filter((_, i) => i !== 3).sort());
  });

  it('When the rows are large, then a group stops at its size budget and every row is still stored whole', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => uniq(`NL${i}-`));
    const big = 'x'.repeat(200 * 1024); // 12 × 200 KiB: more than one batch's budget
    const before = sqlOf(db).statements;
    await Promise.all(ids.map((id) => recordNotify(db, entry(id, { rawPayload: big, payloadBytes: big.length }))));
    expect(sqlOf(db).statements - before).toBeGreaterThan(5); // 4 alone, then groups of 5 (1 MiB)
    const rows = await db.notifyRecord.findMany({ where: { notifyId: { in: ids } }, select: { rawPayload: true } });
    expect(rows.map((r) => r.rawPayload.length)).toEqual(ids.map(() => big.length));
  });
});
