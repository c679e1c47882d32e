import { createMeter } from './meter.js';
import { assessMeterHealth } from './health.js';
import { MeteringConfigError } from './errors.js';
import { silentLogger } from './logger.js';
import type { MeterStats } from './stats.js';

/** The stats of a fresh Meter, with `changes` applied: a real shape, the figures under test. */
function statsWith(changes: Partial<MeterStats>): MeterStats {
  const meter = createMeter({ enabled: false, logger: silentLogger });
  const stats = { ...meter.stats(), ...changes };
  void meter.close();
  return stats;
}

describe('assessMeterHealth', () => {
  it('is healthy for a fresh Meter, with the figures it looked at', () => {
    expect(assessMeterHealth(statsWith({}))).toEqual({
      healthy: true, problems: [], message: 'ok', dropped: 0, droppedByReason: {}, oldestQueuedAgeSeconds: 0, queued: 0, pausedUntil: null,
    });
  });

  it('is unhealthy once PacSpace refused the key, whatever maxDropped allows', () => {
    const health = assessMeterHealth(statsWith({ dropped: { unauthorized: 2 } }), { maxDropped: 10 });
    expect(health.healthy).toBe(false);
    expect(health.problems).toEqual(['unauthorized']);
    expect(health.message).toBe('PacSpace refused the API key (2 deltas dropped as unauthorized)');
    expect(assessMeterHealth(statsWith({ dropped: { unauthorized: 2 } }), { maxDropped: 10, unauthorizedIsUnhealthy: false }).healthy).toBe(true);
  });

  it('counts drops of every reason against maxDropped (default 0)', () => {
    const stats = statsWith({ dropped: { too_large: 1, max_attempts: 2 } });
    expect(assessMeterHealth(stats).problems).toEqual(['dropped']);
    expect(assessMeterHealth(stats).message).toBe('3 deltas dropped since start (allowed: 0)');
    expect(assessMeterHealth(stats, { maxDropped: 3 }).healthy).toBe(true);
    expect(assessMeterHealth(stats, { maxDropped: Infinity }).healthy).toBe(true);
  });

  it('is unhealthy when the oldest held delta is older than maxOldestQueuedAgeSeconds (default 300)', () => {
    expect(assessMeterHealth(statsWith({ oldestQueuedAgeMs: 300_000 })).healthy).toBe(true);
    const stale = assessMeterHealth(statsWith({ oldestQueuedAgeMs: 300_001, queued: 4, inFlight: 1, pausedUntil: Date.UTC(2030, 0, 1) }));
    expect(stale.problems).toEqual(['stale_queue']);
    expect(stale.queued).toBe(5);
    expect(stale.pausedUntil).toBe('2030-01-01T00:00:00.000Z');
    expect(assessMeterHealth(statsWith({ oldestQueuedAgeMs: 61_000 }), { maxOldestQueuedAgeSeconds: 60 }).message).toBe('the oldest queued delta has waited 61 s (allowed: 60 s)');
  });

  it('is unhealthy once the Meter is closed', () => {
    expect(assessMeterHealth(statsWith({ closed: true })).problems).toEqual(['closed']);
  });

  it.each([
    ['maxDropped', { maxDropped: -1 }],
    ['maxDropped', { maxDropped: Number.NaN }],
    ['maxOldestQueuedAgeSeconds', { maxOldestQueuedAgeSeconds: '60' as unknown as number }],
  ])('refuses a bad %s with a MeteringConfigError naming it', (option, options) => {
    let error: unknown;
    try {
      assessMeterHealth(statsWith({}), options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MeteringConfigError);
    expect((error as MeteringConfigError).option).toBe(option);
    expect((error as Error).message).toMatch(/non-negative number/);
  });
});
