/** Why a delta will never be delivered. */
export type DropReason =
  /** Refused at intake: a field PacSpace would reject (see `error.field`). */
  | 'invalid'
  /** Refused at intake: the queue held `maxQueueSize` deltas or `maxQueueBytes` bytes. */
  | 'queue_full'
  /** Refused at intake: larger than `maxDeltaBytes`. */
  | 'too_large'
  /** Refused at intake: the meter was closing or closed. */
  | 'closed'
  /** Refused at intake: the store threw when asked to keep it (e.g. a durable store's disk is full). */
  | 'store_failed'
  /** PacSpace refused it for good (400, 402, 404, 412, 422, ...). */
  | 'rejected'
  /** PacSpace refused the API key (401) or its environment (403): a configuration failure; kept as a dead letter by a durable store. */
  | 'unauthorized'
  /** PacSpace answered 409: the same referenceId was already used for a different delta. */
  | 'integrity'
  /** Transient failures until `maxAttempts` ran out. */
  | 'max_attempts'
  /** Transient failures until `maxRetryElapsedMs` ran out. */
  | 'max_elapsed'
  /** Still undelivered when `close({ timeoutMs })` ran out of time (in-memory store only). */
  | 'shutdown';

/** Passed to `onDelivered`. */
export interface DeliveredEvent {
  referenceId: string;
  customerId: string;
  delta: number;
  reason: string;
  /** Attempts it took, this one included. */
  attempts: number;
  /** True when PacSpace answered with the replay of an earlier, committed attempt. */
  deduplicated: boolean;
  /** PacSpace's receipt (`recordId`, `receiptId`, `status`, ...). */
  receipt: Record<string, unknown>;
}

/** Passed to `onRetry`. */
export interface RetryEvent {
  referenceId: string;
  customerId: string;
  /** Attempts made so far. */
  attempts: number;
  /** Milliseconds until the next attempt. */
  delayMs: number;
  error: Error;
}

/** Passed to `onDrop`. */
export interface DropEvent {
  reason: DropReason;
  /** Absent only when the input was too broken to name one. */
  referenceId?: string;
  customerId?: string;
  delta?: number;
  attempts: number;
  error: Error;
  /**
   * `true` when a request that carried the delta ended without an answer (network error, deadline,
   * 5xx, an answer that was not PacSpace's): PacSpace may have recorded it. It was never resent
   * under another key; check PacSpace (the ledger, `derive`) before billing it another way.
   * Absent otherwise.
   */
  mayBeRecorded?: true;
}

/** Passed to `onError` with the error. */
export interface ErrorContext {
  /** `intake`: refused input; `delivery`: PacSpace refused it; `hook`: one of your hooks threw. */
  stage: 'intake' | 'delivery' | 'hook';
  referenceId?: string;
  customerId?: string;
}
