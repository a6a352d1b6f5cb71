import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import { migrate, MIGRATIONS_DIR } from '../src/infra/migrate';
import { mysqlConnection } from '../src/infra/mysql-url';

/*
 * Proves the hand-written migrations build exactly the database prisma/schema.prisma describes. Both sides are
 * flattened into sorted one-line "facts" (`pay_order.subject varchar(256) NOT NULL`, `refund UNIQUE uk_… (…)`),
 * so a failure reads as a plain list of what is missing and what is extra. The expected side comes from Prisma's
 * own parser (its DMMF), the actual side from MariaDB's information_schema.
 */

/**
 * Every table, every character column and the database default compare byte for byte (issue 10 §2): schema.prisma
 * cannot say so, so it is stated here, and a column or table that folds case, accents or spaces is drift.
 */
const COLLATION = 'utf8mb4_bin';
/** Prisma types whose columns carry a collation on MariaDB (JSON is a LONGTEXT there). */
const CHARACTER_TYPES = new Set(['String', 'Json']);

const SCHEMA_SOURCE = readFileSync(path.resolve(__dirname, '../prisma/schema.prisma'), 'utf8');

// ---------------------------------------------------------------------------------------------------------------
// Prisma's DMMF without the native engines: the `prisma` CLI package ships its schema parser as WebAssembly (the
// code behind `prisma generate`/`prisma validate`) and bundles the wasm-bindgen glue inside cli.js. The four host
// functions the module imports are supplied here; they are matched without their build hash.

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  default?: { name: string; args: unknown[] } | string | number | boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}
interface Datamodel {
  models: DmmfModel[];
  enums: { name: string; values: { name: string; dbName: string | null }[] }[];
  indexes: DmmfIndex[];
}

/** The slice of the WebAssembly JS API used here; tsconfig's lib (no DOM) does not declare it. */
declare const WebAssembly: {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string }[] };
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
};
interface SchemaWasm {
  memory: { buffer: ArrayBuffer };
  __wbindgen_externrefs: { grow(n: number): number; set(i: number, v: unknown): void; get(i: number): unknown };
  __wbindgen_start(): void;
  __wbindgen_malloc(size: number, align: number): number;
  get_dmmf(ptr: number, len: number): [number, number, number, number];
}

function loadDatamodel(schema: string): Datamodel {
  const prismaDir = path.dirname(require.resolve('prisma/package.json'));
  const wasmModule = new WebAssembly.Module(readFileSync(path.join(prismaDir, 'build/prisma_schema_build_bg.wasm')));
  const text = (ptr: number, len: number) => new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, ptr >>> 0, len));
  const hostFunctions: Record<string, (ptr: number, len: number) => unknown> = {
    __wbg_Error: (ptr, len) => new Error(text(ptr, len)),
    __wbg___wbindgen_throw: (ptr, len) => fail(text(ptr, len)),
    __wbg_set_message: (ptr, len) => fail(`Prisma's schema parser panicked: ${text(ptr, len)}`),
    __wbindgen_init_externref_table: () => {
      const table = wasm.__wbindgen_externrefs;
      const at = table.grow(4);
      table.set(0, undefined);
      [undefined, null, true, false].forEach((value, i) => table.set(at + i, value));
    },
  };
  const imports: Record<string, Record<string, unknown>> = {};
  for (const { module, name } of WebAssembly.Module.imports(wasmModule)) {
    const host = hostFunctions[name.replace(/_[0-9a-f]{16}$/, '')];
    if (!host) fail(`prisma_schema_build_bg.wasm imports ${name}, which loadDatamodel does not provide`);
    (imports[module] ??= {})[name] = host;
  }
  // Used above by the host functions, which the instance calls only after this line (from __wbindgen_start() on).
  const wasm = new WebAssembly.Instance(wasmModule, imports).exports as SchemaWasm;
  wasm.__wbindgen_start();

  const input = new TextEncoder().encode(JSON.stringify({ prismaSchema: [['schema.prisma', schema]], noColor: true }));
  const inputPtr = wasm.__wbindgen_malloc(input.length, 1) >>> 0;
  new Uint8Array(wasm.memory.buffer).set(input, inputPtr);
  const [outPtr, outLen, errorRef, failed] = wasm.get_dmmf(inputPtr, input.length);
  if (failed) throw wasm.__wbindgen_externrefs.get(errorRef);
  return JSON.parse(text(outPtr, outLen)).datamodel;
}

// ---------------------------------------------------------------------------------------------------------------
// Expected facts, from the DMMF.

/** COLUMN_TYPE as MariaDB reports Prisma's default column for each scalar type (JSON is a checked LONGTEXT there). */
const DEFAULT_COLUMN_TYPES: Record<string, string> = {
  String: 'varchar(191)',
  Boolean: 'tinyint(1)',
  Int: 'int(11)',
  BigInt: 'bigint(20)',
  Float: 'double',
  Decimal: 'decimal(65,30)',
  DateTime: 'datetime(3)',
  Json: 'longtext',
  Bytes: 'longblob',
};

function expectedFacts(dm: Datamodel, schemaSource: string): string[] {
  const enums = new Map(dm.enums.map((e) => [e.name, e.values.map((v) => v.dbName ?? v.name)]));
  const models = new Map(dm.models.map((m) => [m.name, m]));
  const facts = dm.indexes.map((index) => indexFact(models.get(index.model)!, index));
  facts.push(`database COLLATE ${COLLATION}`);
  for (const model of dm.models) {
    facts.push(`${dbName(model)} COLLATE ${COLLATION}`);
    for (const field of model.fields) {
      if (field.kind === 'scalar' || field.kind === 'enum') facts.push(...columnFacts(model, field, enums));
      if (field.relationFromFields?.length) facts.push(foreignKeyFact(model, field, models.get(field.type)!, schemaSource));
    }
  }
  return facts.sort();
}

function columnFacts(model: DmmfModel, field: DmmfField, enums: Map<string, string[]>): string[] {
  const column = `${dbName(model)}.${dbName(field)}`;
  const dflt = expectedDefault(field);
  const autoIncrement = typeof field.default === 'object' && field.default.name === 'autoincrement';
  const nullability = field.isRequired ? 'NOT NULL' : 'NULL';
  const facts = [
    [column, columnType(field, enums), nullability, dflt && `DEFAULT ${dflt}`, autoIncrement && 'auto_increment'].filter(Boolean).join(' '),
  ];
  if (field.type === 'Json') facts.push(`${column} CHECK json_valid(\`${dbName(field)}\`)`);
  if (field.kind === 'enum' || CHARACTER_TYPES.has(field.type)) facts.push(`${column} COLLATE ${COLLATION}`);
  return facts;
}

function columnType(field: DmmfField, enums: Map<string, string[]>): string {
  if (field.kind === 'enum')
    return `enum(${enums
      .get(field.type)!
      .map((v) => `'${v}'`)
      .join(',')})`;
  if (field.nativeType) {
    const [name, args] = field.nativeType;
    return name.toLowerCase() + (args.length > 0 ? `(${args.join(',')})` : '');
  }
  return DEFAULT_COLUMN_TYPES[field.type] ?? fail(`no MariaDB column type known for Prisma type ${field.type}`);
}

/** COLUMN_DEFAULT as MariaDB reports it; autoincrement() and client-side generators (uuid(), cuid()) leave none. */
function expectedDefault(field: DmmfField): string | null {
  const value = field.default;
  if (value === undefined) return field.isRequired ? null : 'NULL';
  if (typeof value === 'object') return value.name === 'now' ? `current_timestamp(${field.nativeType?.[1][0] ?? 3})` : null;
  if (field.kind === 'enum' || field.type === 'String') return `'${String(value).replace(/'/g, "''")}'`;
  return typeof value === 'boolean' ? String(Number(value)) : String(value); // BigInt defaults arrive as strings
}

function indexFact(model: DmmfModel, index: DmmfIndex): string {
  const table = dbName(model);
  const columns = index.fields.map((f) => columnName(model, f.name));
  if (index.type === 'id') return `${table} PRIMARY KEY (${columns.join(', ')})`;
  const kind = { unique: 'UNIQUE', normal: 'INDEX', fulltext: 'FULLTEXT' }[index.type];
  const name = index.dbName ?? `${table}_${columns.join('_')}_${index.type === 'unique' ? 'key' : 'idx'}`; // Prisma's default
  return `${table} ${kind} ${name} (${columns.join(', ')})`;
}

function foreignKeyFact(model: DmmfModel, field: DmmfField, target: DmmfModel, schemaSource: string): string {
  const table = dbName(model);
  const columns = field.relationFromFields!.map((name) => columnName(model, name));
  const referenced = field.relationToFields!.map((name) => columnName(target, name));
  const name = relationMap(schemaSource, model.name, field.name) ?? `${table}_${columns.join('_')}_fkey`;
  const onDelete = sqlAction(field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull')); // Prisma's defaults
  const onUpdate = sqlAction(field.relationOnUpdate ?? 'Cascade');
  return `${table} FOREIGN KEY ${name} (${columns.join(', ')}) REFERENCES ${dbName(target)} (${referenced.join(', ')}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`;
}

/** The DMMF omits foreign key names, so `@relation(..., map: "…")` is read from the model's source. */
function relationMap(schemaSource: string, modelName: string, fieldName: string): string | undefined {
  const body = new RegExp(`^model ${modelName} \\{([\\s\\S]*?)^\\}`, 'm').exec(schemaSource)?.[1];
  const relation = new RegExp(`^\\s*${fieldName}\\s.*@relation\\((.*)\\)`, 'm').exec(body ?? '')?.[1];
  if (relation === undefined) fail(`no @relation on ${modelName}.${fieldName} in schema.prisma`);
  return /map:\s*"([^"]+)"/.exec(relation)?.[1];
}

const sqlAction = (action: string) => action.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(); // SetNull → SET NULL
const dbName = (x: { name: string; dbName?: string | null }) => x.dbName ?? x.name;
const columnName = (model: DmmfModel, field: string) => dbName(model.fields.find((f) => f.name === field)!);

function fail(message: string): never {
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------------------------
// Actual facts, from information_schema, in the same shape.

const OWN_TABLES = `TABLE_SCHEMA = ? AND TABLE_NAME <> '_prisma_migrations'`;
const FACT_QUERIES = [
  `SELECT CONCAT('database COLLATE ', DEFAULT_COLLATION_NAME) AS fact FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`,
  `SELECT CONCAT(TABLE_NAME, ' COLLATE ', TABLE_COLLATION) AS fact
     FROM information_schema.TABLES WHERE ${OWN_TABLES}`,
  `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' COLLATE ', COLLATION_NAME) AS fact
     FROM information_schema.COLUMNS WHERE ${OWN_TABLES} AND COLLATION_NAME IS NOT NULL`,
  `SELECT CONCAT_WS(' ', CONCAT(TABLE_NAME, '.', COLUMN_NAME), COLUMN_TYPE, IF(IS_NULLABLE = 'YES', 'NULL', 'NOT NULL'),
                   CONCAT('DEFAULT ', COLUMN_DEFAULT), NULLIF(EXTRA, '')) AS fact
     FROM information_schema.COLUMNS WHERE ${OWN_TABLES}`,
  `SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME, ' CHECK ', CHECK_CLAUSE) AS fact
     FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME <> '_prisma_migrations'`,
  `SELECT CONCAT(TABLE_NAME, ' ',
                 CASE WHEN INDEX_NAME = 'PRIMARY' THEN 'PRIMARY KEY'
                      WHEN INDEX_TYPE = 'FULLTEXT' THEN CONCAT('FULLTEXT ', INDEX_NAME)
                      WHEN NON_UNIQUE = 0 THEN CONCAT('UNIQUE ', INDEX_NAME)
                      ELSE CONCAT('INDEX ', INDEX_NAME) END,
                 ' (', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ', '), ')') AS fact
     FROM information_schema.STATISTICS WHERE ${OWN_TABLES}
    GROUP BY TABLE_NAME, INDEX_NAME, INDEX_TYPE, NON_UNIQUE`,
  `SELECT CONCAT(k.TABLE_NAME, ' FOREIGN KEY ', k.CONSTRAINT_NAME,
                 ' (', GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), ')',
                 ' REFERENCES ', k.REFERENCED_TABLE_NAME,
                 ' (', GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), ')',
                 ' ON DELETE ', r.DELETE_RULE, ' ON UPDATE ', r.UPDATE_RULE) AS fact
     FROM information_schema.KEY_COLUMN_USAGE k
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
    WHERE k.TABLE_SCHEMA = ?
    GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE, r.UPDATE_RULE`,
];

async function actualFacts(conn: Connection, database: string): Promise<string[]> {
  const facts: string[] = [];
  for (const sql of FACT_QUERIES) {
    const rows: { fact: string }[] = await conn.query(sql, [database]);
    facts.push(...rows.map((r) => r.fact));
  }
  return facts.sort();
}

// ---------------------------------------------------------------------------------------------------------------

const without = (from: string[], remove: string[]) => from.filter((fact) => !remove.includes(fact));

function localMigrations(): { migration_name: string; checksum: string }[] {
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({
      migration_name: name,
      checksum: createHash('sha256')
        .update(readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql')))
        .digest('hex'),
    }));
}

function connectTo(url: URL, database?: string): Promise<Connection> {
  return createConnection({ ...mysqlConnection(url.toString()), database });
}

const EXPECTED = expectedFacts(loadDatamodel(SCHEMA_SOURCE), SCHEMA_SOURCE);
const TEST_URL = new URL(process.env.DATABASE_URL ?? fail('DATABASE_URL is not set; test/support/global-setup.ts sets it'));
const TEST_DB = TEST_URL.pathname.slice(1);

describe('the migrated test database', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await connectTo(TEST_URL, TEST_DB);
  });
  afterAll(() => conn.end());

  it('has exactly the tables, columns, keys, indexes and foreign keys of prisma/schema.prisma', async () => {
    expect(await actualFacts(conn, TEST_DB)).toEqual(EXPECTED);
  });

  it('records each migration folder in _prisma_migrations as `prisma migrate deploy` would', async () => {
    const rows = await conn.query(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, logs, applied_steps_count
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    const finished = { finished: 1, rolled_back_at: null, logs: null, applied_steps_count: 1 };
    expect(rows).toEqual(localMigrations().map((m) => ({ ...m, ...finished })));
  });

  it('has nothing left to apply', async () => {
    await expect(migrate(TEST_URL.toString())).resolves.toEqual({ applied: [] });
  });
});

describe('the comparison itself', () => {
  it('follows schema.prisma: a changed column length shows up in the expected facts', () => {
    const mutated = SCHEMA_SOURCE.replace(/(subject\s+String\s+)@db\.VarChar\(256\)/, '$1@db.VarChar(300)');
    const facts = expectedFacts(loadDatamodel(mutated), mutated);
    expect(without(facts, EXPECTED)).toEqual(['pay_order.subject varchar(300) NOT NULL']);
    expect(without(EXPECTED, facts)).toEqual(['pay_order.subject varchar(256) NOT NULL']);
  });
});

describe('a scratch database', () => {
  const database = `paysvc_drift_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_URL);
  url.pathname = `/${database}`;
  let admin: Connection;
  let conn: Connection;

  beforeAll(async () => {
    admin = await connectTo(TEST_URL);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    conn = await connectTo(TEST_URL, database);
  });
  afterAll(async () => {
    await conn?.end();
    await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin?.end();
  });

  // The cases below run in order, each on the state the one before left.
  it('is migrated once when two instances start together', async () => {
    const runs = await Promise.all([migrate(url.toString()), migrate(url.toString())]);
    expect(runs.flatMap((run) => run.applied)).toEqual(localMigrations().map((m) => m.migration_name));
    expect(await actualFacts(conn, database)).toEqual(EXPECTED);
  });

  it('shows drift: an altered column and a dropped index are reported, nothing else', async () => {
    await conn.query('ALTER TABLE pay_order MODIFY subject VARCHAR(255) NOT NULL, DROP INDEX idx_pay_order_status_expire_at');
    const actual = await actualFacts(conn, database);
    expect(without(EXPECTED, actual)).toEqual([
      'pay_order INDEX idx_pay_order_status_expire_at (status, expire_at)',
      'pay_order.subject varchar(256) NOT NULL',
    ]);
    expect(without(actual, EXPECTED)).toEqual(['pay_order.subject varchar(255) NOT NULL']);
  });

  it('shows drift: a column or a table that compares without case is reported', async () => {
    const before = await actualFacts(conn, database);
    await conn.query('ALTER TABLE pay_order MODIFY out_order_no VARCHAR(64) NOT NULL COLLATE utf8mb4_unicode_ci');
    await conn.query('ALTER TABLE refund DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    const after = await actualFacts(conn, database);
    expect(without(before, after)).toEqual(['pay_order.out_order_no COLLATE utf8mb4_bin', 'refund COLLATE utf8mb4_bin']);
    expect(without(after, before)).toEqual(['pay_order.out_order_no COLLATE utf8mb4_unicode_ci', 'refund COLLATE utf8mb4_unicode_ci']);
    expect(EXPECTED).toEqual(expect.arrayContaining(without(before, after)));
  });

  it('refuses to migrate when an applied migration.sql was edited', async () => {
    await conn.query(`UPDATE _prisma_migrations SET checksum = REPEAT('0', 64)`);
    await expect(migrate(url.toString())).rejects.toThrow(/was edited after it was applied/);
  });

  it('refuses to migrate past a migration that failed', async () => {
    await conn.query('UPDATE _prisma_migrations SET finished_at = NULL');
    await expect(migrate(url.toString())).rejects.toThrow(/failed earlier/);
  });
});

describe('a database written to before identifiers became binary', () => {
  const BINARY_MIGRATION = '20261201100000_binary_identifiers';
  const database = `paysvc_collation_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_URL);
  url.pathname = `/${database}`;
  let admin: Connection;
  let conn: Connection;

  beforeAll(async () => {
    admin = await connectTo(TEST_URL);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    conn = await connectTo(TEST_URL, database);
  });
  afterAll(async () => {
    await conn?.end();
    await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin?.end();
  });

  const insertOrder = (payNo: string, tenantId: string, outOrderNo: string, subject: string) =>
    conn.query(
      `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
         status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at)
       VALUES (?, ?, ?, 100, 'CNY', ?, '', 'u', 'MOCK', 'WAIT_PAY', 't', '', '{"k":"vé"}', '', '', 1800, NOW(3))`,
      [payNo, tenantId, outOrderNo, subject],
    );
  const rows = async () => ({
    orders: await conn.query('SELECT *, HEX(subject) AS subject_hex FROM pay_order ORDER BY id'),
    attempts: await conn.query('SELECT * FROM pay_attempt ORDER BY id'),
    refunds: await conn.query('SELECT * FROM refund ORDER BY id'),
    transitions: await conn.query('SELECT * FROM order_transition ORDER BY id'),
    receipts: await conn.query('SELECT * FROM notify_receipt ORDER BY channel, notify_id'),
  });

  it('keeps every byte and key, and then tells case-1-abc from CASE-1-ABC', async () => {
    await migrate(url.toString(), undefined, { before: BINARY_MIGRATION });
    await insertOrder('P1', 'demo', 'case-1-abc', ' 商品 Café 🍵 ');
    await conn.query(
      `INSERT INTO pay_attempt (attempt_no, pay_no, tenant_id, pay_way, channel, status, payer_id, client_ip)
       VALUES ('A1', 'P1', 'demo', 'MOCK', 'mock', 'OPEN', '', '')`,
    );
    await conn.query(
      `INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status)
       VALUES ('R1', 'demo', 'rf-x', 'P1', 'A1', 1, 'CNY', 'größe', 'PENDING')`,
    );
    await conn.query(
      `INSERT INTO order_transition (pay_no, from_status, to_status, cause, detail) VALUES ('P1', 'WAIT_PAY', 'PAYING', 'RPC', 'ok')`,
    );
    await conn.query(`INSERT INTO notify_receipt (channel, notify_id, pay_no) VALUES ('mock', 'n-1', 'P1')`);
    // Under the old collation the upper-cased key is the same key.
    await expect(insertOrder('P2', 'demo', 'CASE-1-ABC', 'x')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    const before = await rows();

    // The data check stops right after this migration (later ones may reshape these rows); then the rest apply.
    const next = localMigrations().find((m) => m.migration_name > BINARY_MIGRATION)?.migration_name;
    await expect(migrate(url.toString(), undefined, { before: next })).resolves.toEqual({ applied: [BINARY_MIGRATION] });
    expect(await rows()).toEqual(before);
    await migrate(url.toString());
    expect(await actualFacts(conn, database)).toEqual(EXPECTED); // foreign keys back, every collation binary

    await insertOrder('P2', 'demo', 'CASE-1-ABC', 'x');
    await insertOrder('P3', 'DEMO', 'case-1-abc', 'x');
    const [hits] = await conn.query(`SELECT COUNT(*) AS n FROM pay_order WHERE tenant_id = 'demo' AND out_order_no = 'case-1-abc'`);
    expect(Number(hits.n)).toBe(1);
    const [refunds] = await conn.query(`SELECT COUNT(*) AS n FROM refund WHERE tenant_id = 'demo' AND out_refund_no = 'RF-X'`);
    expect(Number(refunds.n)).toBe(0);
  });
});
