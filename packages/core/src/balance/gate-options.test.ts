import { MeteringConfigError } from '../errors.js';
import { lastTwelveMonths, resolveGateConfig } from './gate-options.js';

describe('balance gate options', () => {
  it('applies the documented defaults', () => {
    const config = resolveGateConfig({});
    expect(config).toMatchObject({ ttlMs: 5000, maxStaleMs: 300_000, waitMs: 2000, whenUnavailable: 'serve', maxCustomers: 10_000, holdDeliveredMs: 60_000 });
    expect(config.deriveScope(Date.UTC(2025, 2, 14))).toEqual({ startDate: '2024-04-01T00:00:00.000Z', endDate: '2025-04-01T00:00:00.000Z', limit: 1 });
    expect(resolveGateConfig({ deriveScope: { period: '2025-03' } }).deriveScope(0)).toEqual({ period: '2025-03' });
  });

  it.each([
    [{ ttlMs: 0 }, 'ttlMs'],
    [{ ttlMs: 10_000, maxStaleMs: 5000 }, 'maxStaleMs'],
    [{ waitMs: -1 }, 'waitMs'],
    [{ whenUnavailable: 'allow' }, 'whenUnavailable'],
    [{ maxCustomers: 0 }, 'maxCustomers'],
    [{ deriveScope: 'month' }, 'deriveScope'],
    [{ fleetPending: 5 }, 'fleetPending'],
    [{ logger: console.log }, 'logger'],
    [{ ttl: 5 }, 'ttl'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => resolveGateConfig(options as never)).toThrow(MeteringConfigError);
    expect(() => resolveGateConfig(options as never)).toThrow(new RegExp(`^${field}`));
  });

  it('spans 12 UTC months ending with the current one, across a year boundary', () => {
    expect(lastTwelveMonths(Date.UTC(2026, 0, 1, 0, 0, 0))).toMatchObject({ startDate: '2025-02-01T00:00:00.000Z', endDate: '2026-02-01T00:00:00.000Z' });
    expect(lastTwelveMonths(Date.UTC(2025, 11, 31, 23, 59))).toMatchObject({ startDate: '2025-01-01T00:00:00.000Z', endDate: '2026-01-01T00:00:00.000Z' });
  });
});
