import type { DropReason } from './events.js';

/** Running totals since the meter was created. */
export interface Counters {
  accepted: number;
  delivered: number;
  deduplicated: number;
  retried: number;
  dropped: Partial<Record<DropReason, number>>;
  failed: Record<string, number>;
}

/** A point-in-time view of a meter, from `meter.stats()`. */
export interface MeterStats extends Counters {
  /** Deltas waiting to be sent or retried (not in flight). */
  queued: number;
  /** Requests to PacSpace under way. */
  inFlight: number;
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
  /** Deltas still held when the drain ended (queued, waiting to retry, or in flight). */
  pending: number;
  /** True when `timeoutMs` ran out before everything was settled. */
  timedOut: boolean;
}

/** What `close()` reports: the drain, and which deltas were left undelivered. */
export interface CloseReport extends DrainReport {
  /** referenceIds still undelivered when the meter stopped; with the in-memory store they are dropped as `shutdown`. */
  pendingReferenceIds: string[];
}

export function newCounters(): Counters {
  return { accepted: 0, delivered: 0, deduplicated: 0, retried: 0, dropped: {}, failed: {} };
}

export function sum(record: Record<string, number | undefined>): number {
  let total = 0;
  for (const value of Object.values(record)) total += value ?? 0;
  return total;
}
