import type { DeriveFault } from './read-faults.js';

/**
 * When a fault fires. It fires on a write request if ANY trigger matches. Write requests (POSTs to
 * delta, delta/batch and checkpoint whose body parsed) are numbered from 1, counting from the last
 * `startSandbox()`, `setFaults()` or `reset()`.
 *
 * @example
 * sandbox.setFaults({ resetBeforeProcessing: { rate: 0.1, every: 10, requests: [1, 2] } });
 */
export interface FaultTrigger {
  /** Probability in [0, 1] per write request, drawn from the seeded PRNG. */
  rate?: number;
  /** Fires on every Nth write request (N, 2N, ...). */
  every?: number;
  /** Fires on exactly these 1-based write-request numbers. */
  requests?: number[];
}

/**
 * A 5xx answered before anything is processed.
 *
 * @example
 * sandbox.setFaults({ serverError: { every: 3, statuses: [503], retryAfterSeconds: 1 } });
 */
export interface ServerErrorFault extends FaultTrigger {
  /** Statuses to pick from (uniformly, seeded). Default `[500, 502, 503, 504]`. */
  statuses?: number[];
  /** When set, adds a `Retry-After` header and `error.retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

/**
 * A 429 `RATE_LIMITED` with `Retry-After`.
 *
 * @example
 * sandbox.setFaults({ rateLimit: { rate: 0.05, retryAfterSeconds: 1 } });
 */
export interface RateLimitFault extends FaultTrigger {
  retryAfterSeconds: number;
}

/**
 * A 429 `CADENCE_LIMIT` for one customer. With no trigger it fires on every write for that customer.
 * Applies to delta requests; in a batch only that customer's items fail (`error: 'CADENCE_LIMIT'`).
 *
 * @example
 * sandbox.setFaults({ cadenceLimit: { customerId: 'cust_busy', retryAfterSeconds: 3600 } });
 */
export interface CadenceLimitFault extends FaultTrigger {
  customerId: string;
  retryAfterSeconds: number;
}

/**
 * Batch items that answer `FAILED` inside the 2xx answer of `POST /delta/batch` and are not
 * committed. An item fails with probability `rate` (one seeded draw per item), or always when its
 * customer is listed. Replays of committed items still answer `QUEUED` with `idempotent: true`.
 *
 * @example
 * sandbox.setFaults({ itemFailures: { rate: 0.1, codes: ['CADENCE_LIMIT', 'VALIDATION_ERROR'], retryAfterSeconds: 2 } });
 */
export interface ItemFailuresFault {
  /** Probability in [0, 1] per item that would otherwise be committed. */
  rate?: number;
  /** Items of these customers always fail. */
  customerIds?: string[];
  /** `error` codes to pick from, uniformly and seeded, per failed item. Default `['SERVICE_UNAVAILABLE']`. */
  codes?: string[];
  /** When set, each failed item carries `retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

/**
 * Refuses a whole request for one bad item: a batch containing an item for a listed customer
 * (field `deltas[i].customerId` of the first one), or a single delta for one (field `customerId`).
 * Nothing of the request is committed.
 *
 * @example
 * sandbox.setFaults({ batchRejection: { customerIds: ['cust_bad'], status: 422 } });
 */
export interface BatchRejectionFault {
  customerIds: string[];
  /** 400 `VALIDATION_ERROR` (default), 403 `FORBIDDEN` or 422 `UNPROCESSABLE_ENTITY`. */
  status?: 400 | 403 | 422;
}

/**
 * Deltas that are committed (answered `QUEUED` as usual) but end `FAILED` instead of `VERIFIED`
 * when their lifecycle completes: with probability `rate` (one seeded draw per delta), or always
 * for listed customers. A FAILED delta never counts towards derive or checkpoints.
 *
 * @example
 * sandbox.setFaults({ verificationFailure: { customerIds: ['cust_doomed'], code: 'CHAIN_REJECTED' } });
 */
export interface VerificationFailureFault {
  rate?: number;
  customerIds?: string[];
  /** The delta's `error` once FAILED. Default `'VERIFICATION_FAILED'`. */
  code?: string;
}

/**
 * Fixed milliseconds, or a seeded uniform pick from `[min, max]`.
 *
 * @example
 * sandbox.setFaults({ latencyMs: { min: 5, max: 50 } });
 */
export type LatencySpec = number | { min: number; max: number };

/**
 * Faults injected into the three POST write endpoints. Default: none. Each request's faults are
 * decided in a fixed order from the seeded PRNG; see the README for the exact order.
 *
 * @example
 * const faults: FaultConfig = {
 *   latencyMs: 20,
 *   serverError: { rate: 0.2 },
 *   commitThenDrop: { requests: [3] },
 * };
 * const sandbox = await startSandbox({ faults, seed: 42 });
 */
export interface FaultConfig {
  /**
   * Delay before processing a write, after its idempotency key is reserved. Answers served from the
   * idempotency store (202, 409, replay) are not delayed.
   */
  latencyMs?: LatencySpec;
  serverError?: ServerErrorFault;
  rateLimit?: RateLimitFault;
  cadenceLimit?: CadenceLimitFault;
  /** Connection reset (RST) before anything is committed. */
  resetBeforeProcessing?: FaultTrigger;
  /** Commit the write (ledger and idempotency store), then drop the connection without a response. */
  commitThenDrop?: FaultTrigger;
  itemFailures?: ItemFailuresFault;
  batchRejection?: BatchRejectionFault;
  verificationFailure?: VerificationFailureFault;
  /** Slow or failing `GET /balance/derive` reads (see {@link DeriveFault}); the only fault on a read. */
  derive?: DeriveFault;
}
