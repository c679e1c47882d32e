import { MeteringConfigError } from './errors.js';
import type { DropReason } from './events.js';
import type { MeterStats } from './stats.js';

/**
 * Thresholds of {@link assessMeterHealth}; every field is optional.
 *
 * @example
 * const options: MeterHealthOptions = { maxDropped: 10, maxOldestQueuedAgeSeconds: 600 };
 */
export interface MeterHealthOptions {
  /** Unhealthy once more deltas than this were dropped since the Meter started (any reason). Default: `0` (any drop). */
  maxDropped?: number | undefined;
  /** Unhealthy when the oldest delta held has waited longer than this. Default: `300` (5 minutes). */
  maxOldestQueuedAgeSeconds?: number | undefined;
  /** Unhealthy once PacSpace refused the API key (a delta dropped as `unauthorized`: 401/403). Default: `true`. */
  unauthorizedIsUnhealthy?: boolean | undefined;
}

/**
 * Why {@link assessMeterHealth} found a Meter unhealthy: `unauthorized` (PacSpace refused the key),
 * `dropped` (more drops than `maxDropped`), `stale_queue` (oldest held delta too old), `closed`.
 *
 * @example
 * if (assessMeterHealth(meter.stats()).problems.includes('unauthorized')) alertOnCall('PacSpace key refused');
 */
export type MeterHealthProblem = 'unauthorized' | 'dropped' | 'stale_queue' | 'closed';

/**
 * What {@link assessMeterHealth} answers: `healthy`, the `problems` found (empty when healthy), a
 * one-line `message`, and the figures it looked at.
 *
 * @example
 * const { healthy, problems, message } = assessMeterHealth(meter.stats());
 */
export interface MeterHealth {
  healthy: boolean;
  problems: MeterHealthProblem[];
  /** `'ok'`, or the problems in words, e.g. `'PacSpace refused the API key (2 deltas dropped as unauthorized)'`. */
  message: string;
  /** Deltas dropped since the Meter started, all reasons. */
  dropped: number;
  droppedByReason: Partial<Record<DropReason, number>>;
  /** Seconds the oldest held delta has waited (0 when none). */
  oldestQueuedAgeSeconds: number;
  /** Deltas queued or in flight. */
  queued: number;
  /** ISO time until which the whole meter holds back (rate limit, outage), or null. Reported, not unhealthy by itself: a long pause shows as a stale queue. */
  pausedUntil: string | null;
}

/** Default of {@link MeterHealthOptions.maxOldestQueuedAgeSeconds}. */
const DEFAULT_MAX_OLDEST_AGE_SECONDS = 300;

/**
 * Judges a Meter from its `stats()`: unhealthy when PacSpace refused the API key, when more deltas
 * were dropped than `maxDropped` since start, when the oldest held delta is older than
 * `maxOldestQueuedAgeSeconds`, or once the Meter is closed. Pure and cheap (no I/O): call it from a
 * health route, a readiness probe or a Terminus indicator. Counters are since start, so a drop
 * keeps the Meter unhealthy until the process restarts: use it for readiness or status pages, not
 * as a liveness probe (a restart loses what an in-memory queue holds). Throws a
 * {@link MeteringConfigError} naming the option when a threshold is not a non-negative number.
 *
 * @example
 * app.get('/health/metering', (_req, res) => {
 *   const health = assessMeterHealth(meter.stats(), { maxOldestQueuedAgeSeconds: 120 });
 *   res.status(health.healthy ? 200 : 503).json(health);
 * });
 */
export function assessMeterHealth(stats: MeterStats, options: MeterHealthOptions = {}): MeterHealth {
  const maxDropped = threshold(options.maxDropped, 'maxDropped', 0);
  const maxAge = threshold(options.maxOldestQueuedAgeSeconds, 'maxOldestQueuedAgeSeconds', DEFAULT_MAX_OLDEST_AGE_SECONDS);
  const droppedByReason = { ...stats.dropped };
  let dropped = 0;
  for (const count of Object.values(droppedByReason)) dropped += count ?? 0;
  const unauthorized = droppedByReason.unauthorized ?? 0;
  const oldestQueuedAgeSeconds = stats.oldestQueuedAgeMs / 1000;
  const problems: MeterHealthProblem[] = [];
  const words: string[] = [];
  if (options.unauthorizedIsUnhealthy !== false && unauthorized > 0) {
    problems.push('unauthorized');
    words.push(`PacSpace refused the API key (${deltas(unauthorized)} dropped as unauthorized)`);
  }
  if (dropped > maxDropped) {
    problems.push('dropped');
    words.push(`${deltas(dropped)} dropped since start (allowed: ${maxDropped})`);
  }
  if (oldestQueuedAgeSeconds > maxAge) {
    problems.push('stale_queue');
    words.push(`the oldest queued delta has waited ${Math.round(oldestQueuedAgeSeconds)} s (allowed: ${maxAge} s)`);
  }
  if (stats.closed) {
    problems.push('closed');
    words.push('the meter is closed');
  }
  return {
    healthy: problems.length === 0,
    problems,
    message: words.length === 0 ? 'ok' : words.join('; '),
    dropped,
    droppedByReason,
    oldestQueuedAgeSeconds,
    queued: stats.queued + stats.inFlight,
    pausedUntil: stats.pausedUntil === null ? null : new Date(stats.pausedUntil).toISOString(),
  };
}

const deltas = (n: number): string => `${n} ${n === 1 ? 'delta' : 'deltas'}`;

function threshold(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new MeteringConfigError(name, `must be a non-negative number (Infinity to disable), got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}
