import { isTimeZone, localDay, offsetSpans, utcOffsetSeconds } from '../../src/domain/time-zones';

const at = (iso: string) => new Date(iso);
const YEAR_2026: [Date, Date] = [at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')];

describe('time zones', () => {
  it('When a zone has no DST, then one span covers the year at its fixed offset', () => {
    expect(offsetSpans('Asia/Shanghai', ...YEAR_2026)).toEqual([{ from: YEAR_2026[0], offsetSeconds: 8 * 3600 }]);
    expect(offsetSpans('Asia/Kathmandu', ...YEAR_2026)).toEqual([{ from: YEAR_2026[0], offsetSeconds: 5 * 3600 + 45 * 60 }]);
  });

  it('When a zone has DST, then the spans change at the exact instants of its transitions', () => {
    expect(offsetSpans('America/New_York', ...YEAR_2026)).toEqual([
      { from: YEAR_2026[0], offsetSeconds: -5 * 3600 },
      { from: at('2026-03-08T07:00:00Z'), offsetSeconds: -4 * 3600 },
      { from: at('2026-11-01T06:00:00Z'), offsetSeconds: -5 * 3600 },
    ]);
    // Lord Howe Island moves its clocks by half an hour.
    expect(offsetSpans('Australia/Lord_Howe', ...YEAR_2026).map((s) => s.offsetSeconds)).toEqual([39600, 37800, 39600]);
  });

  it('When a transition falls at the end of the range, then no empty span is added', () => {
    expect(offsetSpans('America/New_York', at('2026-03-01T00:00:00Z'), at('2026-03-08T07:00:00Z'))).toHaveLength(1);
  });

  it('When an instant is near midnight, then its local day follows the zone', () => {
    expect(localDay('Asia/Shanghai', at('2026-03-01T16:30:00Z'))).toBe('2026-03-02');
    expect(localDay('America/New_York', at('2026-03-01T03:30:00Z'))).toBe('2026-02-28');
    expect(localDay('America/New_York', at('2026-07-01T03:30:00Z'))).toBe('2026-06-30');
    expect(utcOffsetSeconds('UTC', at('2026-07-01T03:30:00.999Z'))).toBe(0);
  });

  it('When a name is not an IANA zone, then it is refused', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    for (const bad of ['', 'Mars/Olympus', 'Asia/Shanghai; DROP TABLE']) expect(isTimeZone(bad)).toBe(false);
  });
});
