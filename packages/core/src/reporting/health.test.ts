import { createMeter } from '../meter.js';
import { createMeterHealth } from './health.js';
import { MeteringConfigError } from '../errors.js';
import { silentLogger } from './logger.js';
import type { MeterStats } from './stats.js';

/** A Meter's real stats shape whose figures a test sets, and a clock it moves. */
function watched(changes: Partial<MeterStats> = {}) {
  const meter = createMeter({ enabled: false, logger: silentLogger });
  let stats: MeterStats = { ...meter.stats(), ...changes };
  void meter.close();
  let now = Date.UTC(2030, 0, 1);
  const health = createMeterHealth({ stats: () => stats }, { now: () => now });
  return {
    health,
    set: (more: Partial<MeterStats>) => void (stats = { ...stats, ...more }),
    advance: (seconds: number) => void (now += seconds * 1000),
  };
}

describe('createMeterHealth', () => {
  it('is ready and healthy for a fresh Meter, with the figures it looked at', () => {
    expect(watched().health.check()).toEqual({
      ready: true, healthy: true, problems: [], message: 'ok', dropped: 0, droppedByReason: {}, windowSeconds: 0,
      droppedSinceStart: 0, oldestQueuedAgeSeconds: 0, queued: 0, pausedUntil: null,
    });
  });

  it('stays ready through everything PacSpace can do: a refused key, drops, a stale queue, a pause', () => {
    const { health } = watched({ dropped: { unauthorized: 3, max_elapsed: 40 }, oldestQueuedAgeMs: 3_600_000, queued: 10_000, pausedUntil: Date.UTC(2030, 0, 2) });
    const verdict = health.check();
    expect(verdict.ready).toBe(true);
    expect(verdict.healthy).toBe(false);
    expect(verdict.problems).toEqual(['unauthorized', 'dropped', 'stale_queue']);
  });

  it('is not ready, and not healthy, once the Meter is closed', () => {
    expect(watched({ closed: true }).health.check()).toMatchObject({ ready: false, healthy: false, problems: ['closed'], message: 'the meter is closed' });
  });

  it('counts drops over a trailing window (default 300 s): an alert clears once drops stop', () => {
    const { health, set, advance } = watched();
    expect(health.check().healthy).toBe(true);
    advance(10);
    set({ dropped: { too_large: 1, max_attempts: 2 } });
    const now = health.check();
    expect(now).toMatchObject({ healthy: false, problems: ['dropped'], dropped: 3, droppedByReason: { too_large: 1, max_attempts: 2 }, droppedSinceStart: 3 });
    expect(now.message).toBe('3 deltas dropped in the last 10 s (allowed: 0)');
    advance(200);
    expect(health.check()).toMatchObject({ healthy: false, dropped: 3 });
    advance(200); // 400 s after the last look before the drops: they are out of the window
    expect(health.check()).toMatchObject({ healthy: true, problems: [], dropped: 0, droppedByReason: {}, droppedSinceStart: 3 });
    set({ dropped: { too_large: 1, max_attempts: 2, rejected: 1 } });
    advance(5);
    expect(health.check()).toMatchObject({ healthy: false, dropped: 1, droppedByReason: { rejected: 1 }, droppedSinceStart: 4 });
  });

  it('takes maxDropped and windowSeconds per check', () => {
    const { health, set, advance } = watched();
    health.check();
    advance(30);
    set({ dropped: { rejected: 3 } });
    expect(health.check({ maxDropped: 3 }).healthy).toBe(true);
    expect(health.check({ maxDropped: Infinity }).healthy).toBe(true);
    advance(90);
    // 120 s after the drops were first seen: outside a 60 s window, inside a 300 s one.
    expect(health.check({ windowSeconds: 60 })).toMatchObject({ healthy: true, dropped: 0 });
    expect(health.check({ windowSeconds: 300 })).toMatchObject({ healthy: false, dropped: 3 });
    expect(health.check({ windowSeconds: Infinity })).toMatchObject({ healthy: false, dropped: 3, windowSeconds: 120 });
  });

  it('counts drops that happened before the first check as dropped at creation: reported for one window', () => {
    const { health, advance } = watched({ dropped: { invalid: 2 } });
    expect(health.check()).toMatchObject({ healthy: false, dropped: 2 });
    advance(301);
    expect(health.check()).toMatchObject({ healthy: true, dropped: 0, droppedSinceStart: 2 });
  });

  it('flags a refused key within the window, whatever maxDropped allows, unless told not to', () => {
    const { health, set, advance } = watched();
    advance(2);
    set({ dropped: { unauthorized: 2 } });
    const verdict = health.check({ maxDropped: 10 });
    expect(verdict.problems).toEqual(['unauthorized']);
    expect(verdict.message).toBe('PacSpace refused the API key (2 deltas dropped as unauthorized in the last 2 s)');
    expect(health.check({ maxDropped: 10, unauthorizedIsUnhealthy: false }).healthy).toBe(true);
  });

  it('is unhealthy when the oldest held delta is older than maxOldestQueuedAgeSeconds (default 300)', () => {
    const at = watched({ oldestQueuedAgeMs: 300_000 });
    expect(at.health.check().healthy).toBe(true);
    const stale = watched({ oldestQueuedAgeMs: 300_001, queued: 4, inFlight: 1, pausedUntil: Date.UTC(2030, 0, 1) }).health.check();
    expect(stale.problems).toEqual(['stale_queue']);
    expect(stale.queued).toBe(5);
    expect(stale.pausedUntil).toBe('2030-01-01T00:00:00.000Z');
    expect(watched({ oldestQueuedAgeMs: 61_000 }).health.check({ maxOldestQueuedAgeSeconds: 60 }).message).toBe('the oldest queued delta has waited 61 s (allowed: 60 s)');
  });

  it('keeps a bounded number of samples however often it is checked', () => {
    const { health, set, advance } = watched();
    for (let i = 1; i <= 20_000; i++) {
      advance(0.5);
      set({ dropped: { rejected: i } });
      health.check();
    }
    // 10,000 s of checks twice a second: a 300 s window still counts exactly its own drops, give or take a sampling step.
    expect(health.check().dropped).toBeGreaterThanOrEqual(600);
    expect(health.check().dropped).toBeLessThanOrEqual(606);
  });

  it.each([
    ['maxDropped', { maxDropped: -1 }],
    ['maxDropped', { maxDropped: Number.NaN }],
    ['maxOldestQueuedAgeSeconds', { maxOldestQueuedAgeSeconds: '60' as unknown as number }],
    ['windowSeconds', { windowSeconds: 0 }],
    ['windowSeconds', { windowSeconds: -5 }],
  ])('refuses a bad %s with a MeteringConfigError naming it', (option, options) => {
    const { health } = watched();
    let error: unknown;
    try {
      health.check(options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MeteringConfigError);
    expect((error as MeteringConfigError).option).toBe(option);
    expect((error as Error).message).toMatch(/non-negative number|positive number/);
  });
});
