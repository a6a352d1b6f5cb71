import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DESCRIPTOR_IMAGE_PATH } from '../../src/grpc/descriptor-image';
import { PaymentServiceService } from '../../src/gen/payment/v1/payment_service';
import { newTenant, rawClientHeaders, startHarness, type Harness } from '../support/harness';

/**
 * Server reflection as an independent, strict client meets it: Google's protobuf runtime over gRPC C-core
 * (Debian's python3-grpcio and python3-protobuf, which scripts/services.sh and .ci/run install), building its
 * descriptor pool from nothing but what reflection serves, as grpcurl does. See test/strict-client/reflect.py.
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '../strict-client/reflect.py');
const APIS = ['v1', 'v1alpha'] as const;

interface Probe {
  ok: boolean;
  code?: string;
  files?: string[];
  base_type_name?: string;
  extension_numbers?: number[];
}
interface Field {
  name: string;
  json_name: string;
  type_name?: string;
  map?: boolean;
}
interface Described {
  error?: string;
  file?: string;
  kind?: 'service' | 'method' | 'message' | 'enum';
  methods?: string[];
  fields?: Field[];
  map_entry?: boolean;
  input?: string;
  output?: string;
}
interface ApiReport {
  error?: string;
  services: string[];
  described: Record<string, Described>;
  probes: Record<string, Probe>;
  dedupe: { first: Probe; again: Probe };
  error_model: Record<string, { ok: boolean; message?: string }>;
  received_sha256: Record<string, string>;
}
interface StatusDetails {
  error?: string;
  code: number;
  message: string;
  details: ({ type: string } & Record<string, unknown>)[];
}
interface CallResult {
  step: string;
  method: string | null;
  code: string;
  details?: string;
  response?: Record<string, unknown>;
  responses?: Record<string, unknown>[];
  status_details?: StatusDetails;
}
interface Report {
  apis: Record<(typeof APIS)[number], ApiReport>;
  calls: CallResult[];
  calls_error?: string;
  unary_methods: string[];
  uncalled: string[];
}

function strictClientReady(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `the strict reflection client needs ${PYTHON} with Debian's python3-grpcio and python3-protobuf ` +
        `(scripts/services.sh installs them when run as root; otherwise: sudo apt-get install -y python3-grpcio ` +
        `python3-protobuf): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function runStrictClient(address: string, tenant: string, headers: string[]): Promise<Report> {
  const args = [SCRIPT, address, '--tenant', tenant, ...headers.flatMap((hd) => ['--header', hd])];
  return new Promise((resolve, reject) =>
    execFile(PYTHON, args, { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${PYTHON} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Report);
    }),
  );
}

const PAYMENT_METHODS = Object.values(PaymentServiceService).map((m) => m.path.split('/')[2]);
const UNARY_METHODS = Object.values(PaymentServiceService)
  .filter((m) => !m.requestStream && !m.responseStream)
  .map((m) => m.path.split('/')[2]);

/** Every JSON object key under `value`, except the keys of map fields (those are data, not field names). */
function jsonKeys(value: unknown, mapFields = new Set(['extra', 'params'])): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => jsonKeys(v, mapFields));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...(mapFields.has(k) ? [] : jsonKeys(v, mapFields))]);
}

let h: Harness;
let tenant: string;
let report: Report;
beforeAll(async () => {
  strictClientReady();
  h = await startHarness();
  tenant = await newTenant(h, 'refl');
  report = await runStrictClient(`127.0.0.1:${h.service.grpc.port}`, tenant, rawClientHeaders(h));
  // to read what the client saw: STRICT_CLIENT_REPORT=/tmp/report.json npx jest test/component/reflection.test.ts
  if (process.env.STRICT_CLIENT_REPORT) writeFileSync(process.env.STRICT_CLIENT_REPORT, JSON.stringify(report, null, 1));
}, 180_000);
afterAll(() => h?.close());

describe.each(APIS)('Server reflection %s, through a strict client', (api) => {
  const r = (): ApiReport => report.apis[api];

  it('When it lists services, then it sees the PaymentService, health and both reflection versions', () => {
    expect(r().error).toBeUndefined();
    expect(r().services).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'payment.v1.PaymentService',
    ]);
  });

  it('When it describes every service, method, message and enum, then each resolves from the files served', () => {
    const failed = Object.entries(r().described).filter(([, d]) => d.error);
    expect(failed).toEqual([]);
    const d = r().described;
    expect(d['payment.v1.PaymentService']).toMatchObject({ kind: 'service', file: 'payment/v1/payment_service.proto' });
    expect(d['payment.v1.PaymentService'].methods).toEqual(PAYMENT_METHODS);
    for (const m of PAYMENT_METHODS) expect(d[`payment.v1.PaymentService.${m}`]).toMatchObject({ kind: 'method' });
    expect(d['grpc.health.v1.Health']).toMatchObject({ kind: 'service', methods: expect.arrayContaining(['Check', 'Watch']) });
    expect(d['google.protobuf.Timestamp']).toMatchObject({ kind: 'message', file: 'google/protobuf/timestamp.proto' });
    expect(d['payment.v1.OrderStatus']).toMatchObject({ kind: 'enum', file: 'payment/v1/types.proto' });
    expect(d['payment.v1.PaymentEvent']).toMatchObject({ kind: 'message', file: 'payment/v1/events.proto' });
    // every message of the payment files, nested map entries included
    const messages = Object.entries(d).filter(([name, x]) => name.startsWith('payment.v1.') && x.kind === 'message');
    expect(messages.length).toBeGreaterThanOrEqual(40);
  });

  it('When it has fetched everything, then it holds every file buf built, byte for byte, under the same names', () => {
    const built = fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_IMAGE_PATH)).file;
    const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(r().received_sha256).toEqual(Object.fromEntries(built.map((f) => [f.name, sha256(toBinary(FileDescriptorProtoSchema, f))])));
    expect(Object.keys(r().received_sha256)).toEqual(
      expect.arrayContaining(['payment/v1/payment_service.proto', 'google/protobuf/timestamp.proto', 'health/v1/health.proto']),
    );
  });

  it('When it reads the messages, then field names are the proto’s snake_case, JSON names lowerCamel, maps real map entries', () => {
    const create = r().described['payment.v1.CreateOrderRequest'];
    expect(create.fields!.find((f) => f.name === 'tenant_id')).toMatchObject({ json_name: 'tenantId' });
    expect(create.fields!.find((f) => f.name === 'extra')).toMatchObject({
      map: true,
      type_name: 'payment.v1.CreateOrderRequest.ExtraEntry',
    });
    expect(r().described['payment.v1.CreateOrderRequest.ExtraEntry']).toMatchObject({ kind: 'message', map_entry: true });
    const fieldNames = Object.values(r().described).flatMap((x) => (x.fields ?? []).map((f) => f.name));
    expect(fieldNames.filter((n) => !/^[a-z][a-z0-9_]*$/.test(n))).toEqual([]);
  });

  it('When it asks for files and symbols directly, then files come under their real names and unknown names are NOT_FOUND', () => {
    const p = r().probes;
    expect(p.timestamp_by_filename).toEqual({ ok: true, files: ['google/protobuf/timestamp.proto'] });
    expect(p.unknown_file).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(p.unknown_symbol).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(p.field).toEqual({ ok: true, files: ['payment/v1/payment_service.proto'] });
    expect(p.map_entry).toEqual({ ok: true, files: ['payment/v1/payment_service.proto'] });
    expect(p.enum_value).toEqual({ ok: true, files: ['payment/v1/types.proto'] });
    expect(p.extension_numbers).toEqual({ ok: true, base_type_name: 'payment.v1.PayOrder', extension_numbers: [] });
    expect(p.extension_numbers_unknown).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(p.extension).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('When a file is asked for on a fresh stream, then it comes with its imports, and a file already sent comes alone', () => {
    const { first, again } = r().dedupe;
    expect(first.ok).toBe(true);
    expect(first.files![0]).toBe('payment/v1/payment_service.proto');
    expect([...first.files!].sort()).toEqual([
      'google/protobuf/timestamp.proto',
      'payment/v1/events.proto',
      'payment/v1/payment_service.proto',
      'payment/v1/reconciliation.proto',
      'payment/v1/types.proto',
    ]);
    expect(again).toEqual({ ok: true, files: ['payment/v1/events.proto'] });
  });
});

describe('Calls built from reflection alone, in the README’s snake_case JSON', () => {
  const step = (name: string): CallResult => {
    const c = report.calls.find((x) => x.step === name);
    if (!c) throw new Error(`no step ${name}: ${report.calls_error ?? ''}`);
    return c;
  };

  it('When the README’s lines run in order, then every unary RPC answers with the expected status', () => {
    expect(report.calls_error).toBeUndefined();
    expect(report.unary_methods).toEqual(UNARY_METHODS);
    expect(report.uncalled).toEqual([]);
    expect(report.calls.map((c) => [c.step, c.code, c.details ?? ''])).toEqual([
      ['CreateOrder', 'OK', ''],
      ['Prepay', 'OK', ''],
      ['pay', 'HTTP_200', ''],
      ['Query', 'OK', ''],
      ['Refund', 'OK', ''],
      ['QueryRefund', 'OK', ''],
      ['ListRefunds', 'OK', ''],
      ['CreateOrder-2', 'OK', ''],
      ['Cancel', 'OK', ''],
      ['ListPayWays', 'OK', ''],
      ['ListNotifies', 'OK', ''],
      ['ListEvents', 'OK', ''],
      ['ReplayEvent', 'OK', ''],
      ['WatchOrder', 'OK', ''],
      ['ListOrders', 'OK', ''],
      ['GetStatistics', 'OK', ''],
      ['UpdatePayWay', 'OK', ''],
      ['ListReconciliationRuns', 'OK', ''],
      ['CreateOrder-zero-amount', 'INVALID_ARGUMENT', expect.any(String)],
      ['Query-unknown', 'NOT_FOUND', expect.any(String)],
      ['QueryRefund-unknown', 'NOT_FOUND', expect.any(String)],
      ['Refund-too-much', 'FAILED_PRECONDITION', expect.any(String)],
      ['ListReconciliationDifferences-no-run', 'NOT_FOUND', expect.any(String)],
      ['StartReconciliation-no-account', 'FAILED_PRECONDITION', expect.any(String)],
    ]);
  });

  it('When a call fails, then the client decodes grpc-status-details-bin as google.rpc.Status with the google/rpc files reflection serves', () => {
    for (const api of APIS) {
      expect(report.apis[api].error_model).toEqual({
        'google/rpc/status.proto': { ok: true },
        'google/rpc/error_details.proto': { ok: true },
      });
    }
    const errorInfo = (reason: string, metadata: Record<string, string> = {}) => ({
      type: 'google.rpc.ErrorInfo',
      reason,
      domain: 'payment.v1',
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    });
    const zero = step('CreateOrder-zero-amount');
    expect(zero.status_details).toEqual({
      code: 3,
      message: zero.details,
      details: [
        errorInfo('INVALID_ARGUMENT', { field: 'amount' }),
        { type: 'google.rpc.BadRequest', field_violations: [{ field: 'amount', description: 'must be a positive number of minor units' }] },
      ],
    });
    expect(step('Query-unknown').status_details).toMatchObject({ code: 5, details: [errorInfo('ORDER_NOT_FOUND')] });
    expect(step('QueryRefund-unknown').status_details).toMatchObject({ code: 5, details: [errorInfo('REFUND_NOT_FOUND')] });
    const payNo = (step('CreateOrder').response!.order as Record<string, string>).pay_no;
    expect(step('Refund-too-much').status_details).toMatchObject({
      code: 9,
      details: [errorInfo('REFUND_EXCEEDS_REFUNDABLE', { payNo, amount: '99999', refundable: '7888' })],
    });
  });

  it('When the answers are printed as JSON, then they carry the data asked for under snake_case names', () => {
    const created = step('CreateOrder').response!.order as Record<string, unknown>;
    expect(created).toMatchObject({ tenant_id: tenant, amount: '8888', currency: 'CNY', extra: { channel: 'strict-client' } });
    expect(step('Prepay').response).toMatchObject({ mock_pay_url: expect.stringMatching(/^http:\/\//) });
    expect(step('Query').response).toMatchObject({ order: { status: 'ORDER_STATUS_SUCCESS', pay_no: created.pay_no } });
    expect(step('Refund').response).toMatchObject({ refund: { amount: '1000' } });
    expect(step('ListRefunds').response).toMatchObject({ refunds: [{ out_refund_no: expect.stringMatching(/^RF-/), amount: '1000' }] });
    expect(step('Cancel').response).toMatchObject({ order: { close_reason: 'CLOSE_REASON_CANCELLED' } });
    expect(step('Cancel').response).toMatchObject({ order: { status: 'ORDER_STATUS_CLOSED' } });
    expect(step('WatchOrder').responses).toEqual([
      expect.objectContaining({ order: expect.objectContaining({ status: 'ORDER_STATUS_CLOSED' }) }),
    ]);
    expect(step('GetStatistics').response).toMatchObject({ total: { order_count: '2' } });
    const keys = report.calls.flatMap((c) => jsonKeys([c.response, c.responses]));
    expect(keys.length).toBeGreaterThan(50);
    expect([...new Set(keys.filter((k) => !/^[a-z][a-z0-9_]*$/.test(k)))]).toEqual([]);
  });
});
