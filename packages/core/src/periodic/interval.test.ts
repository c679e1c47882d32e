import { MeteringConfigError } from '../errors.js';
import { assertPeriod, compactUtc, parseInterval, periodBounds, periodOf, windowContaining, windowFrom, windowKey } from './interval.js';

const H = 3_600_000;

describe('parseInterval', () => {
  it('reads labels and milliseconds that divide a day', () => {
    expect(parseInterval('1h')).toBe(H);
    expect(parseInterval('6h')).toBe(6 * H);
    expect(parseInterval('24h')).toBe(24 * H);
    expect(parseInterval('1d')).toBe(24 * H);
    expect(parseInterval('15m')).toBe(900_000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval(90_000)).toBe(90_000);
  });

  it.each([['7h'], [0], [-H], [1500], [7 * H], [48 * H], ['1w'], ['h'], [null], [Number.NaN], ['2d']])('refuses %p naming the option', (bad) => {
    const err = (() => {
      try {
        parseInterval(bad, 'interval');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(MeteringConfigError);
    expect((err as MeteringConfigError).option).toBe('interval');
  });
});

describe('windows', () => {
  it('aligns to UTC boundaries, half-open: an instant on a boundary starts the next window', () => {
    const at = Date.UTC(2025, 2, 1, 13, 25, 7, 123);
    expect(windowContaining(at, H)).toEqual({ start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) });
    expect(windowContaining(Date.UTC(2025, 2, 1, 14), H).start).toBe(Date.UTC(2025, 2, 1, 14));
    expect(windowContaining(Date.UTC(2025, 2, 1, 13, 59, 59, 999), H).start).toBe(Date.UTC(2025, 2, 1, 13));
    expect(windowContaining(at, 6 * H)).toEqual({ start: Date.UTC(2025, 2, 1, 12), end: Date.UTC(2025, 2, 1, 18) });
    expect(windowContaining(at, 24 * H)).toEqual({ start: Date.UTC(2025, 2, 1), end: Date.UTC(2025, 2, 2) });
  });

  it('consecutive windows neither overlap nor leave gaps, across a month and a year end', () => {
    let start = Date.UTC(2025, 11, 31, 20);
    for (let i = 0; i < 10; i++) {
      const w = windowFrom(start, H);
      expect(w.end - w.start).toBe(H);
      start = w.end;
    }
    expect(start).toBe(Date.UTC(2026, 0, 1, 6));
  });

  it('bridges an unaligned start (the interval changed) to the next boundary', () => {
    expect(windowFrom(Date.UTC(2025, 2, 1, 13), 6 * H)).toEqual({ start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 18) });
    expect(windowFrom(Date.UTC(2025, 2, 1, 18), 6 * H)).toEqual({ start: Date.UTC(2025, 2, 1, 18), end: Date.UTC(2025, 2, 2) });
  });

  it('names a window by its start and length only', () => {
    expect(compactUtc(Date.UTC(2025, 2, 1, 13))).toBe('20250301T130000Z');
    expect(compactUtc(Date.UTC(2025, 2, 1, 13, 0, 0, 500))).toBe('20250301T130000.500Z');
    expect(windowKey({ start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) })).toBe('20250301T130000Z.3600s');
    expect(windowKey({ start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 18) })).toBe('20250301T130000Z.18000s');
  });
});

describe('periods', () => {
  it('maps instants to UTC months and months to half-open ranges', () => {
    expect(periodOf(Date.UTC(2025, 2, 31, 23, 59, 59, 999))).toBe('2025-03');
    expect(periodOf(Date.UTC(2025, 3, 1))).toBe('2025-04');
    expect(periodBounds('2025-12')).toEqual({ start: Date.UTC(2025, 11, 1), end: Date.UTC(2026, 0, 1) });
    expect(periodBounds('2024-02').end - periodBounds('2024-02').start).toBe(29 * 24 * H);
  });

  it('refuses anything but YYYY-MM', () => {
    for (const bad of ['2025-13', '2025-3', '25-03', '2025-03-01', 202503, undefined]) {
      expect(() => assertPeriod(bad)).toThrow(MeteringConfigError);
    }
    expect(() => assertPeriod('2025-03')).not.toThrow();
  });
});
