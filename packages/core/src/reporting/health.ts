import { DropWindow } from './drop-window.js';
import { MeteringConfigError } from '../errors.js';
import type { DropReason } from './events.js';
import type { MeterStats } from './stats.js';

/**
 * Thresholds of {@link MeterHealthCheck.check}, for alerts; every field is optional. None of them
 * changes `ready`, which only a closed Meter makes false.
 *
 * @example
 * const options: MeterHealthOptions = { windowSeconds: 600, maxDropped: 10, maxOldestQueuedAgeSeconds: 600 };
 */
export interface MeterHealthOptions {
  /** The trailing window drops are counted over, in seconds. Default: `300` (5 minutes). */
  windowSeconds?: number | undefined;
  /** Unhealthy once more deltas than this were dropped within the window (any reason). Default: `0` (any drop). */
  maxDropped?: number | undefined;
  /** Unhealthy when the oldest delta held has waited longer than this. Default: `300` (5 minutes). */
  maxOldestQueuedAgeSeconds?: number | undefined;
  /** Unhealthy once PacSpace refused the API key within the window (a delta dropped as `unauthorized`: 401/403). Default: `true`. */
  unauthorizedIsUnhealthy?: boolean | undefined;
}

/**
 * Why billing needs attention: `unauthorized` (PacSpace refused the key within the window),
 * `dropped` (more drops within the window than `maxDropped`), `stale_queue` (the oldest held delta
 * is too old: PacSpace out of reach, rate limiting or paused), `closed` (the Meter was closed).
 *
 * @example
 * if (health.check().problems.includes('unauthorized')) alertOnCall('PacSpace key refused');
 */
export type MeterHealthProblem = 'unauthorized' | 'dropped' | 'stale_queue' | 'closed';

/**
 * What {@link MeterHealthCheck.check} answers: `ready` for a readiness probe, `healthy` and the
 * `problems` for alerts, a one-line `message`, and the figures it looked at.
 *
 * @example
 * const { ready, healthy, problems, message } = health.check();
 */
export interface MeterHealth {
  /**
   * For a readiness probe: false only once the Meter is closed (it refuses every delta, so calls
   * served now would go unbilled). PacSpace's health never makes it false: an outage is what the
   * queue is for, and failing readiness on it would take every instance out of the load balancer
   * at once.
   */
  ready: boolean;
  /** For alerts: false while any of `problems` holds. */
  healthy: boolean;
  problems: MeterHealthProblem[];
  /** `'ok'`, or the problems in words, e.g. `'PacSpace refused the API key (2 deltas dropped as unauthorized in the last 300 s)'`. */
  message: string;
  /** Deltas dropped within the window, all reasons. */
  dropped: number;
  /** Of those, per reason. */
  droppedByReason: Partial<Record<DropReason, number>>;
  /**
   * How far back `dropped` reaches, in seconds: about the window (up to the gap between two checks
   * more, since drops are sampled when checked), or less while the check is younger than it.
   */
  windowSeconds: number;
  /** Deltas dropped since the Meter started, all reasons. */
  droppedSinceStart: number;
  /** Seconds the oldest held delta has waited (0 when none). */
  oldestQueuedAgeSeconds: number;
  /** Deltas queued or in flight. */
  queued: number;
  /** ISO time until which the whole meter holds back (rate limit, outage), or null. Reported, not a problem by itself: a long pause shows as a stale queue. */
  pausedUntil: string | null;
}

/**
 * A Meter's health over time, from {@link createMeterHealth}.
 *
 * @example
 * const health = createMeterHealth(meter);
 * health.check().ready; // readiness
 * health.check({ windowSeconds: 600 }).healthy; // alerts
 */
export interface MeterHealthCheck {
  /** Reads `meter.stats()` (no I/O) and judges it; throws a MeteringConfigError naming a bad threshold. */
  check(options?: MeterHealthOptions): MeterHealth;
}

/** Defaults of {@link MeterHealthOptions}. */
const DEFAULT_WINDOW_SECONDS = 300;
const DEFAULT_MAX_OLDEST_AGE_SECONDS = 300;

/**
 * Watches a Meter's health for a readiness probe and for alerts. `check()` reads `meter.stats()`
 * (pure and cheap: no I/O, nothing billed) and answers:
 *
 * - `ready`, for **readiness**: false only once the Meter is closed. Never PacSpace's health: a
 *   PacSpace outage or a refused key must not take every instance out of the load balancer.
 * - `healthy` and `problems`, for **alerts** (a status page, an uptime check on its own route):
 *   PacSpace refused the key within the window, more drops within the window than `maxDropped`,
 *   the oldest held delta older than `maxOldestQueuedAgeSeconds`, or the Meter closed. Drops count
 *   over a trailing window (default 5 minutes), so an alert clears once drops stop.
 * - Never wire any of it to **liveness**: a restart fixes none of this and loses what an in-memory
 *   queue holds.
 *
 * Drops are sampled when `check()` is called: a window counts from the newest sample at or before
 * its start, so with checks every few seconds it reaches back a few seconds more than asked, never
 * less. Drops before the first check count as dropped at creation.
 *
 * @param meter - a Meter (anything with `stats()`).
 * @param options - `now`, the clock (default `Date.now`), for tests.
 *
 * @example
 * const health = createMeterHealth(meter);
 * app.get('/ready', (_req, res) => void res.sendStatus(health.check().ready ? 200 : 503));
 * app.get('/health/billing', (_req, res) => {
 *   const billing = health.check({ maxOldestQueuedAgeSeconds: 120 });
 *   res.status(billing.healthy ? 200 : 503).json(billing);
 * });
 */
export function createMeterHealth(meter: { stats(): MeterStats }, options: { now?: () => number } = {}): MeterHealthCheck {
  const now = options.now ?? Date.now;
  const drops = new DropWindow(now());
  return {
    check(thresholds: MeterHealthOptions = {}): MeterHealth {
      const windowSeconds = threshold(thresholds.windowSeconds, 'windowSeconds', DEFAULT_WINDOW_SECONDS);
      if (windowSeconds === 0) throw new MeteringConfigError('windowSeconds', 'must be a positive number of seconds (Infinity: since the check was created), got 0');
      const limits = {
        maxDropped: threshold(thresholds.maxDropped, 'maxDropped', 0),
        maxAge: threshold(thresholds.maxOldestQueuedAgeSeconds, 'maxOldestQueuedAgeSeconds', DEFAULT_MAX_OLDEST_AGE_SECONDS),
        unauthorized: thresholds.unauthorizedIsUnhealthy !== false,
      };
      const stats = meter.stats();
      const at = now();
      const window = drops.count(at, stats.dropped, windowSeconds * 1000);
      return judge(stats, window.byReason, window.coveredMs / 1000, limits);
    },
  };
}

/** The verdict on `stats`, with the drops of the window already counted. */
function judge(
  stats: MeterStats,
  droppedByReason: Partial<Record<DropReason, number>>,
  windowSeconds: number,
  limits: { maxDropped: number; maxAge: number; unauthorized: boolean },
): MeterHealth {
  const dropped = total(droppedByReason);
  const unauthorized = droppedByReason.unauthorized ?? 0;
  const oldestQueuedAgeSeconds = stats.oldestQueuedAgeMs / 1000;
  const within = `in the last ${Math.round(windowSeconds)} s`;
  const problems: MeterHealthProblem[] = [];
  const words: string[] = [];
  if (limits.unauthorized && unauthorized > 0) {
    problems.push('unauthorized');
    words.push(`PacSpace refused the API key (${deltas(unauthorized)} dropped as unauthorized ${within})`);
  }
  if (dropped > limits.maxDropped) {
    problems.push('dropped');
    words.push(`${deltas(dropped)} dropped ${within} (allowed: ${limits.maxDropped})`);
  }
  if (oldestQueuedAgeSeconds > limits.maxAge) {
    problems.push('stale_queue');
    words.push(`the oldest queued delta has waited ${Math.round(oldestQueuedAgeSeconds)} s (allowed: ${limits.maxAge} s)`);
  }
  if (stats.closed) {
    problems.push('closed');
    words.push('the meter is closed');
  }
  return {
    ready: !stats.closed,
    healthy: problems.length === 0,
    problems,
    message: words.length === 0 ? 'ok' : words.join('; '),
    dropped,
    droppedByReason,
    windowSeconds,
    droppedSinceStart: total(stats.dropped),
    oldestQueuedAgeSeconds,
    queued: stats.queued + stats.inFlight,
    pausedUntil: stats.pausedUntil === null ? null : new Date(stats.pausedUntil).toISOString(),
  };
}

const deltas = (n: number): string => `${n} ${n === 1 ? 'delta' : 'deltas'}`;

function total(counts: Partial<Record<DropReason, number>>): number {
  let sum = 0;
  for (const count of Object.values(counts)) sum += count ?? 0;
  return sum;
}

function threshold(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new MeteringConfigError(name, `must be a non-negative number (Infinity to disable), got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}
