import { retryDelay, type BackoffPolicy } from './backoff.js';
import type { DropReason } from '../reporting/events.js';
import type { MeterConfig } from '../options.js';
import type { QueuedDelta } from '../store/store.js';

/**
 * The Meter's one retry policy: how long a delta or a frozen batch waits before it is sent again
 * (exponential backoff with jitter, the server's hint as a floor, never past the delta's
 * `maxRetryElapsedMs`), how long a customer or the whole meter is paused, and when a delta may not
 * be tried again (`maxAttempts`, `maxRetryElapsedMs`). The delivery loop, the delta outcomes and
 * the pauses all ask it.
 *
 * @example
 * const retry = new DeliveryRetry(config, Math.random);
 * item.dueAt = at + retry.delayMs(item.attempts, hintMs, retry.deadlineOf(item), at);
 */
export class DeliveryRetry {
  readonly backoff: BackoffPolicy;

  constructor(
    private readonly config: Pick<MeterConfig, 'maxAttempts' | 'maxRetryElapsedMs' | 'maxRetryAfterMs' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>,
    private readonly random: () => number,
  ) {
    this.backoff = { baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs, maxRetryAfterMs: config.maxRetryAfterMs };
  }

  /** A server hint clamped to `maxRetryAfterMs`, so a wild `Retry-After` cannot park a delta for days. */
  clampHint(hintMs: number | undefined): number | undefined {
    return hintMs === undefined ? undefined : Math.min(hintMs, this.config.maxRetryAfterMs);
  }

  /** The wait before the next attempt, after `attempts` of them: backoff, the hint a floor, capped at `deadlineAt`. */
  delayMs(attempts: number, hintMs: number | undefined, deadlineAt: number, at: number): number {
    return Math.min(retryDelay(attempts, this.backoff, this.random, this.clampHint(hintMs)), deadlineAt - at);
  }

  /** How long a customer is paused (a cadence limit): its hint, else the backoff after `attempts`. */
  pauseMs(attempts: number, hintMs: number | undefined): number {
    return this.clampHint(hintMs) ?? retryDelay(attempts, this.backoff, this.random);
  }

  /** The plain backoff after `attempts` failures (the whole meter's pause in an outage). */
  backoffMs(attempts: number): number {
    return retryDelay(attempts, this.backoff, this.random);
  }

  /** When a delta's time to be delivered runs out. */
  deadlineOf(item: QueuedDelta): number {
    return item.acceptedAt + this.config.maxRetryElapsedMs;
  }

  /** `max_attempts` or `max_elapsed` when the delta may not be tried again, else undefined. */
  expiredReason(item: QueuedDelta, at: number): DropReason | undefined {
    if (item.attempts >= this.config.maxAttempts) return 'max_attempts';
    if (at >= this.deadlineOf(item)) return 'max_elapsed';
    return undefined;
  }
}
