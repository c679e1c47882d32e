import type { DropReason } from './events.js';
import type { SkipCause } from '../intake/nothing-to-bill.js';

/**
 * Running totals since the meter was created.
 *
 * @example
 * const { accepted, delivered, requests }: Counters = meter.stats();
 */
export interface Counters {
  /** Deltas accepted by `enqueue`/`emit` (folded ones included). */
  accepted: number;
  /** Deltas PacSpace has (new or replayed); an overflow sum counts once. */
  delivered: number;
  /** Of those, replays of an earlier committed attempt. */
  deduplicated: number;
  /** Retries scheduled, per delta. */
  retried: number;
  /** Requests sent to PacSpace (a batch request counts once, whatever it carries). */
  requests: number;
  /** Deltas added to an overflow sum because the queue was full (see the `overflow` option). */
  folded: number;
  dropped: Partial<Record<DropReason, number>>;
  failed: Record<string, number>;
  /** Deltas with nothing to bill, by cause (an amount of 0, `NOTHING_TO_BILL`): not queued, not lost, never in `dropped`. */
  skipped: Partial<Record<SkipCause, number>>;
}

/**
 * A point-in-time view of a meter, from `meter.stats()`.
 *
 * @example
 * const { queued, inFlight, overflow, dropped } = meter.stats();
 */
export interface MeterStats extends Counters {
  /** Deltas waiting to be sent or retried (not in flight). */
  queued: number;
  /** Deltas in requests under way. */
  inFlight: number;
  /** Requests to PacSpace under way. */
  requestsInFlight: number;
  /** Overflow sums not yet queued: how many (`sums`) and how many deltas they hold (`deltas`). */
  overflow: { sums: number; deltas: number };
  /** Bytes of serialized deltas held (queued and in flight). */
  queuedBytes: number;
  /** Age of the oldest delta held, in ms; 0 when empty. */
  oldestQueuedAgeMs: number;
  /** Epoch ms until which the whole meter is paused (rate limit, outage), or null. */
  pausedUntil: number | null;
  /** Customers paused by `CADENCE_LIMIT`, with the epoch ms each pause ends. */
  pausedCustomers: Record<string, number>;
  /** True once `close()` was called. */
  closed: boolean;
}

/** What a flush or close achieved between its start and its end. */
export interface DrainReport {
  /** Deltas that reached PacSpace during the drain, replays included. */
  delivered: number;
  /** Of those, how many were replays of an earlier committed attempt. */
  deduplicated: number;
  /** Deltas PacSpace refused for good, or that ran out of attempts or time, during the drain. */
  failed: number;
  /** Deltas dropped for any reason during the drain (refusals at intake included). */
  dropped: number;
  /**
   * Deltas still undelivered when the drain ended: queued, waiting to retry, in flight, summed in
   * an overflow sum (each delta it holds counts), or kept by a durable store beyond memory.
   */
  pending: number;
  /** True when `timeoutMs` ran out before everything was settled. */
  timedOut: boolean;
}

/**
 * What `close()` reports: the counts over the meter's whole life (`delivered`, `deduplicated`,
 * `failed`, `dropped` since it was created, not only during the final drain), how many deltas were
 * still undelivered when it stopped (`pending`: a folded delta counts as one, though it travels in
 * its overflow sum), and the referenceIds of what was held in memory.
 *
 * @example
 * const { delivered, dropped, pendingReferenceIds }: CloseReport = await meter.close({ timeoutMs: 10_000 });
 */
export interface CloseReport extends DrainReport {
  /**
   * referenceIds still undelivered when the meter stopped: each delta held in memory, and each
   * overflow sum (one id for all the deltas it holds). With the in-memory store they are dropped as
   * `shutdown`; a durable store keeps them, and the deltas it held beyond memory (counted in
   * `pending`, not listed here), for the next start.
   */
  pendingReferenceIds: string[];
}

/** Fresh counters, all zero. */
export function newCounters(): Counters {
  return { accepted: 0, delivered: 0, deduplicated: 0, retried: 0, requests: 0, folded: 0, dropped: {}, failed: {}, skipped: {} };
}

/** A copy of `counters` to measure a drain against. */
export function copyCounters(counters: Counters): Counters {
  return { ...counters, dropped: { ...counters.dropped }, failed: { ...counters.failed }, skipped: { ...counters.skipped } };
}

/** The sum of a record's values. */
export function sum(record: Record<string, number | undefined>): number {
  let total = 0;
  for (const value of Object.values(record)) total += value ?? 0;
  return total;
}
