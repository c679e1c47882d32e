import type { CheckpointOptions, CheckpointReceipt } from './client/checkpoint.js';
import type { CredentialsCheck } from './client/credentials.js';
import type { DropReason } from './reporting/events.js';
import type { CloseReport, DrainReport, MeterStats } from './reporting/stats.js';
import type { QueuedDelta } from './store/store.js';
import type { MeterBalanceSource } from './balance/balance-source.js';
import type { AdjustsReference } from './intake/validation.js';
import type { SkipCause } from './intake/nothing-to-bill.js';

/** A usage record to send. */
export interface DeltaInput {
  /** Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`. */
  customerId: string;
  /** Balance change: finite, within ±1e9 (negative consumes). Exactly 0 is nothing to bill: answered `skipped: 'zero_delta'`, never a drop. */
  delta: number;
  /** Why: 1-500 characters. Also the operation segment of a generated referenceId. */
  reason: string;
  /** Your own referenceId (1-255 characters of `[A-Za-z0-9_.:~-]`; it is also the Idempotency-Key). Wins over `requestId`. */
  referenceId?: string;
  /** The request (or job) this delta belongs to; the referenceId is built from it. Default: a fresh UUID. */
  requestId?: string;
  /** Free key/value map, serialized once at acceptance. */
  metadata?: Record<string, unknown>;
  /**
   * The committed delta this one corrects (PacSpace's `adjusts`): `{ referenceId }` or
   * `{ recordId }`. Build corrections with `correctionOf()`; a correction is never folded into an
   * overflow sum.
   */
  adjusts?: AdjustsReference;
}

/**
 * What `enqueue` answers: accepted with its referenceId, or refused with a reason and a typed error.
 * `folded: true` means the queue was full and the delta was added to its (customer, reason)
 * overflow sum instead: it is billed, as part of one aggregated delta with its own referenceId.
 * `committed` is there with a store that writes behind (a remote database): it resolves `true`
 * once the delta is durable, `false` when it could not be made so (reported); it never rejects.
 *
 * `skipped` (with `accepted: true`, so code that treats `!accepted` as a loss stays right): there
 * was nothing to bill (a delta of exactly 0); nothing was queued, nothing is lost. The referenceId
 * is the one the delta would have had. Counted in `stats().skipped`, never in `dropped`.
 *
 * @example
 * const result: EnqueueResult = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request' });
 * if (!result.accepted) console.warn(result.reason, result.error.message);
 * else if (result.skipped) console.debug('nothing to bill', result.referenceId);
 */
export type EnqueueResult =
  | { accepted: true; referenceId: string; folded?: true; committed?: Promise<boolean>; skipped?: undefined }
  | SkippedDelta
  | { accepted: false; reason: DropReason; error: Error; referenceId?: string };

/**
 * A delta with nothing to bill: not queued, not dropped (see {@link EnqueueResult}).
 *
 * @example
 * const result = meter.enqueue({ customerId: 'acme', delta: 0, reason: 'completion' });
 * if (result.accepted && result.skipped) console.log(result.skipped); // 'zero_delta'
 */
export interface SkippedDelta {
  accepted: true;
  skipped: SkipCause;
  /** The referenceId the delta would have been billed under. */
  referenceId: string;
  folded?: undefined;
  committed?: undefined;
}

/**
 * What `meter.skip` answers: counted as skipped; `referenceId` is the one the delta would have had,
 * when what was given of it was enough to build it.
 *
 * @example
 * const answer: SkipAnswer = meter.skip!('nothing_to_bill', { customerId: 'acme', reason: 'search', requestId: 'r-1' });
 */
export interface SkipAnswer {
  accepted: true;
  skipped: SkipCause;
  referenceId?: string;
}

/** What `emit` resolves to once PacSpace has the delta. */
export interface DeliveryReceipt {
  referenceId: string;
  /** True when PacSpace answered with the replay of an earlier, committed attempt. */
  deduplicated: boolean;
  attempts: number;
  /** PacSpace's receipt (`recordId`, `receiptId`, `status`, ...); empty when `skipped`. */
  receipt: Record<string, unknown>;
  /** Set when there was nothing to bill (a delta of exactly 0): nothing was sent, `attempts` is 0. */
  skipped?: SkipCause;
}

/**
 * The Meter: a bounded, retrying, never-blocking delivery queue for usage deltas, from
 * `createMeter()`.
 *
 * @example
 * const meter: Meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'req-42' });
 */
export interface Meter {
  /** The scope every generated referenceId starts with. */
  readonly scope: string;
  /** True when accepted deltas survive a crash (the store is durable): the framework packages then accept a delta when the handler ends the response, before its bytes leave. */
  readonly durable?: boolean;
  /**
   * Accepts a delta for background delivery. Synchronous, O(1), never throws, no network I/O (a
   * durable store writes the delta to its file before `enqueue` returns). It travels in a batch
   * within `flushIntervalMs`; a full queue folds it into its overflow sum (see `overflow`).
   */
  enqueue(input: DeltaInput): EnqueueResult;
  /**
   * Sends a delta through the same queue at once (with what else is queued) and waits until
   * PacSpace has it, resolving with its own receipt; rejects with the typed error otherwise. The
   * delta is accepted (validated and stored, durably with a durable store) before `emit` returns:
   * only delivery is awaited, and the process stays alive while it waits (retries included).
   */
  emit(input: DeltaInput): Promise<DeliveryReceipt>;
  /**
   * Waits until everything queued, in flight and waiting to retry is settled, or `timeoutMs`
   * passes. Concurrent calls share the drain. With `reportPending: true`, time running out with
   * deltas still held is also reported, as a loss that may come: a warning through the logger (on
   * stderr with default settings) with their count and referenceIds, and `onError` with a
   * `MeteringError` of code `FLUSH_TIMEOUT` (stage `delivery`). The deltas stay queued either way.
   * For code after which the process may be frozen or end (a serverless function returning; see
   * `withMeterFlush` in `@pacspace-metering/core/serverless`).
   */
  flush(options?: { timeoutMs?: number | undefined; reportPending?: boolean | undefined }): Promise<DrainReport>;
  /**
   * Stops intake, drains for up to `timeoutMs` (default 30000), and reports the meter's whole life
   * and what was left. When time runs out, requests in flight are abandoned (their deltas are
   * pending: PacSpace may or may not have recorded them). Idempotent.
   */
  close(options?: { timeoutMs?: number | undefined }): Promise<CloseReport>;
  /** Counters and gauges. */
  stats(): MeterStats;
  /**
   * Refuses a delta the caller could not build (a resolver threw, a value was missing), exactly as
   * an invalid `enqueue` is refused: counted in `stats().dropped.invalid`, handed to `onDrop` and
   * `onError`. Used by the framework packages; never throws.
   *
   * @example
   * meter.refuse(new DeltaValidationError('customerId', 'the customerId resolver threw: no user'), { reason: 'api_request' });
   */
  refuse(error: Error, delta?: Partial<DeltaInput>): EnqueueResult;
  /**
   * Counts a delta that had nothing to bill (`cause`), e.g. a resolver answered `NOTHING_TO_BILL`:
   * in `stats().skipped[cause]`, logged at debug; never a drop, never `onDrop`/`onError`, never a
   * health problem. `delta` (what is known of it) is for the log and the referenceId it would have
   * had. Never throws. Optional on the interface for Meters made by hand; every Meter of this
   * package has it.
   *
   * @example
   * meter.skip?.('nothing_to_bill', { customerId: 'acme', reason: 'completion', requestId: 'req-42' });
   */
  skip?(cause: SkipCause, delta?: Partial<DeltaInput>): SkipAnswer;
  /**
   * Asks PacSpace for a checkpoint of one customer, or of all customers when `customerId` is
   * omitted, over a UTC month (`options.period`, `YYYY-MM`; default: the current month). Idempotent:
   * the Idempotency-Key is derived from the scope, customer and period, and the API answers a
   * repeated scope with the first checkpoint. Transient failures are retried (8 attempts at most,
   * the meter's backoff); rejects with the permanent or last error, or at once after `close()`.
   *
   * @example
   * const { checkpointId, deduplicated } = await meter.checkpoint('acme', { period: '2025-03' });
   */
  checkpoint(customerId?: string, options?: CheckpointOptions): Promise<CheckpointReceipt>;
  /**
   * Checks that PacSpace accepts the API key, with one read that writes and bills nothing. Call it
   * at start-up, before serving traffic: a wrong key then fails the start instead of every delta
   * later. Rejects with a {@link PacSpaceApiError} (401/403: the key; network, 5xx: PacSpace not
   * reachable) after `timeoutMs` (default: `attemptTimeoutMs`) at most.
   *
   * @example
   * await meter.verifyCredentials();
   * app.listen(3000);
   */
  verifyCredentials(options?: { timeoutMs?: number | undefined }): Promise<CredentialsCheck>;
  /**
   * Validates a delta and freezes it (referenceId, body) exactly as `enqueue` would, without
   * queuing it: for a store that writes it elsewhere, e.g. inside the caller's own database
   * transaction, so the delta exists if and only if that transaction commits. Throws the typed
   * error `enqueue` would refuse it with (`DeltaValidationError`, or `DeltaDroppedError` for
   * `too_large`); counts nothing.
   *
   * @example
   * const frozen = meter.prepare({ customerId: 'acme', delta: -1, reason: 'order_placed', requestId: orderId });
   * await db.query('INSERT INTO my_outbox (reference_id, body) VALUES ($1, $2)', [frozen.referenceId, frozen.body]);
   */
  prepare?(input: DeltaInput): QueuedDelta;
  /**
   * What a balance gate (`createBalanceGate`) reads from this Meter: per customer, what it accepted
   * and PacSpace has not taken yet, each delivery as it happens, and reads through its client. The
   * first call starts the tracking (a Map entry per delta until it is settled); a Meter nobody
   * gates pays nothing for it. Absent on Meters that hold deltas where it cannot see them (an
   * aggregating meter).
   *
   * @example
   * const gate = createBalanceGate(meter); // calls meter.balanceSource()
   */
  balanceSource?(): MeterBalanceSource;
}
