import { Availability } from '../../src/infra/availability';
import type { Logger } from '../../src/infra/logger';

/** The log lines an operator looks for when MariaDB or Redis goes away, and the rate limit on them. */
describe('Availability', () => {
  let lines: { level: 'warn' | 'info'; msg: string; fields: Record<string, unknown> }[];
  let a: Availability;
  const at = (ms: number) => jest.setSystemTime(1_000_000 + ms);

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    lines = [];
    const log = {
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', msg, fields }),
      info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', msg, fields }),
    } as unknown as Logger;
    a = new Availability('MariaDB', log);
  });
  afterEach(() => jest.useRealTimers());

  it('When a dependency goes away and comes back, then one warning and one info line with the outage length are logged, however often it is checked', () => {
    a.failed(new Error('ECONNREFUSED'));
    at(2000);
    a.failed(new Error('ECONNREFUSED'));
    at(4000);
    a.failed(new Error('ECONNREFUSED'));
    expect(a.down).toBe(true);
    at(5000);
    a.answered();
    a.answered();
    expect(a.down).toBe(false);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'MariaDB is unreachable'],
      ['info', 'MariaDB is reachable again'],
    ]);
    expect(lines[1].fields.downMs).toBe(5000);
  });

  it('When it flaps, then outages starting within 10 s of the last warning log nothing', () => {
    a.failed(new Error('blip'));
    at(500);
    a.answered();
    for (let t = 1000; t < 9000; t += 1000) {
      at(t);
      a.failed(new Error('blip'));
      at(t + 500);
      a.answered();
    }
    expect(lines.map((l) => l.msg)).toEqual(['MariaDB is unreachable', 'MariaDB is reachable again']);
  });

  it('When an outage starts within 10 s of a blip and lasts, then it is still warned of once the 10 s are up, and its end is logged (CI: a slow probe at start hid the real outage)', () => {
    a.failed(new Error('probe timed out')); // a blip at start: warned
    at(2000);
    a.answered();
    at(5000);
    a.failed(new Error('ECONNREFUSED')); // the real outage, within 10 s of the blip's warning: held back
    at(7000);
    a.failed(new Error('ECONNREFUSED'));
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    at(10_000);
    a.failed(new Error('ECONNREFUSED')); // still down, 10 s after the last warning
    at(12_000);
    a.failed(new Error('ECONNREFUSED'));
    at(20_000);
    a.answered();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'MariaDB is unreachable'],
      ['info', 'MariaDB is reachable again'],
      ['warn', 'MariaDB is unreachable'],
      ['info', 'MariaDB is reachable again'],
    ]);
    expect(lines[2].fields.downMs).toBe(5000); // down since its first failure, not since the warning
    expect(lines[3].fields.downMs).toBe(15_000);
  });
});
