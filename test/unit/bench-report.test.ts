import { windowFigures, type Snapshot } from '../../bench/measure';
import { renderReport, renderRounds, type Report, type Row } from '../../bench/report';
import { loadBenchConfig } from '../../bench/config';
import type { PhaseResult } from '../../bench/stats';

const zero: Snapshot = { at: 0, server: 0, client: 0, db: 0, redis: 0, gateway: 0, machine: 0, serverRssMb: 0 };
/** One second of window in which each party used these CPU microseconds. */
const oneSecond = (used: Partial<Snapshot>): Snapshot => ({ ...zero, at: 1000, serverRssMb: 300, ...used });

const phase = (ops: number): PhaseResult => ({
  scenario: 'x',
  seconds: 1,
  ops,
  errors: 0,
  errorKinds: {},
  latency: { p50: 1, p90: 2, p99: 3, max: 4, mean: 1.5 } as PhaseResult['latency'],
  clientCpuUs: NaN,
});

describe('The bench: whose CPU a window used', () => {
  const used = { server: 400_000, client: 100_000, db: 500_000, redis: 80_000, gateway: 250_000, machine: 1_400_000 };

  it("When the mock gateway and Redis run as the bench's own processes, then their CPU is theirs, not noise", () => {
    const f = windowFigures({ server: 1, db: 2, redis: [3], gateway: 4 }, zero, oneSecond(used));
    expect(f).toMatchObject({ serverCpuUs: 400_000, dbCpuUs: 500_000, redisCpuUs: 80_000, gatewayCpuUs: 250_000, clientCpuUs: 100_000 });
    expect(f.otherCores).toBeCloseTo(0.07, 5); // 1.4 cores busy, 1.33 of them ours
  });

  it('When there is no gateway process or no local Redis, then they have no figure and their CPU stays with the rest', () => {
    const f = windowFigures({ server: 1, db: 2, redis: [] }, zero, oneSecond({ ...used, redis: 0, gateway: 0 }));
    expect(f.redisCpuUs).toBeUndefined();
    expect(f.gatewayCpuUs).toBeUndefined();
    expect(f.otherCores).toBeCloseTo(0.4, 5); // the machine's 1.4 less the server, client and mariadbd
  });
});

describe('The bench report', () => {
  const rows: Row[] = [
    { label: 'echo: bare grpc-js unary', result: phase(10_000), serverCpuUs: 650_000, dbCpuUs: 0, redisCpuUs: 0, otherCores: 0.01 },
    {
      label: 'CreateOrder + Prepay (PAY_WAY_MOCK)',
      result: { ...phase(400), legs: { CreateOrder: phase(400).latency, Prepay: phase(400).latency } },
      serverCpuUs: 600_000,
      dbCpuUs: 800_000,
      redisCpuUs: 40_000,
      gatewayCpuUs: 100_000,
      otherCores: 0.2,
    },
  ];
  const table = renderReport({ config: loadBenchConfig(), loadAvgAtStart: [0, 0, 0], rows, echo: rows[0].result });
  const tableLines = table.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) => line.split('|').length;

  it("When a row has Redis and gateway CPU, then each has its column per op; a party that was not measured shows '–'", () => {
    const header = tableLines[0].split(' | ');
    const pair = tableLines.find((line) => line.startsWith('| CreateOrder + Prepay'))!.split(' | ');
    const echo = tableLines.find((line) => line.startsWith('| echo'))!.split(' | ');
    expect(pair[header.indexOf('redis CPU µs/op')]).toBe('100');
    expect(pair[header.indexOf('gateway CPU µs/op')]).toBe('250');
    expect(echo[header.indexOf('gateway CPU µs/op')]).toBe('–');
  });

  it('When a scenario has legs, then every line of the table has as many cells as its header', () => {
    expect(tableLines.filter((line) => line.startsWith('| ↳'))).toHaveLength(2);
    for (const line of tableLines) expect(cells(line)).toBe(cells(tableLines[0]));
  });

  it('When processes not the bench’s used more than 0.15 cores in a window, then that row is flagged noisy', () => {
    expect(table).toContain('⚠ noisy machine during **CreateOrder + Prepay (PAY_WAY_MOCK)**: other processes used 0.20 cores');
    expect(table).not.toContain('noisy machine during **echo');
  });
});

describe('The bench report over BENCH_ROUNDS rounds', () => {
  const round = (pairCpuUs: number, errors = 0): Report => {
    const echo: Row = { label: 'echo: bare grpc-js unary', result: phase(10_000), serverCpuUs: 650_000 };
    const pair: Row = {
      label: 'CreateOrder + Prepay (PAY_WAY_MOCK)',
      result: { ...phase(400), errors },
      serverCpuUs: pairCpuUs * (400 + errors),
    };
    return { config: loadBenchConfig(), loadAvgAtStart: [1, 1, 1], rows: [echo, pair], echo: echo.result };
  };
  const text = renderRounds([round(1_500), round(2_100, 3), round(1_400)]);

  it("When rounds ran, then each scenario's CPU per op is shown round by round with its median, and each round's table follows", () => {
    expect(text).toContain('| ⚠ CreateOrder + Prepay (PAY_WAY_MOCK) | 1,500 / 2,100 / 1,400 | **1,500** |');
    expect(text).toContain('| echo: bare grpc-js unary | 65 / 65 / 65 | **65** |');
    expect(['## Round 1 of 3', '## Round 2 of 3', '## Round 3 of 3'].map((h) => text.includes(`\n${h}\n`))).toEqual([true, true, true]);
  });

  it('When any round had errors, then the summary flags the scenario and counts them all', () => {
    expect(text).toMatch(/\| ⚠ CreateOrder \+ Prepay \(PAY_WAY_MOCK\) \|.*\| \*\*3\*\* \|$/m);
  });
});
