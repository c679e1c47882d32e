import type { DeliveryMode } from './batch.js';
import type { DeliveryRetry } from './delivery-retry.js';
import type { ItemOutcome } from './batch-result.js';
import { errorCodeLabel } from '../client/error-codes.js';
import { DeltaDroppedError, PacSpaceApiError, type MeteringError } from '../errors.js';
import type { DropReason } from '../reporting/events.js';
import type { MeterEvents } from '../reporting/meter-events.js';
import type { DeliveryReceipt } from '../meter-api.js';
import type { MeterConfig } from '../options.js';
import type { Pauses } from './pauses.js';
import type { Counters } from '../reporting/stats.js';
import type { MeterStore, QueuedDelta } from '../store/store.js';
import type { UsageTap } from '../balance/unsettled-usage.js';
import { reportDrop } from '../reporting/drop-report.js';

/** What {@link DeltaOutcomes} needs from the Meter. */
export interface OutcomeContext {
  config: MeterConfig;
  store: MeterStore;
  counters: Counters;
  events: MeterEvents;
  pauses: Pauses;
  retry: DeliveryRetry;
  now: () => number;
  /** True once a timed-out `close()` stopped delivery. */
  stopped(): boolean;
  /** Hears of each settled delta once a balance gate asked for it. */
  usage: UsageTap;
}

/** Log lines that say more than the reason. */
const LOST_MESSAGES: Partial<Record<DropReason, string>> = {
  unauthorized: 'pacspace-metering: PacSpace refused the API key (check PACSPACE_API_KEY, and that a pk_test_ key goes to the sandbox and pk_live_ to production); deltas are not delivered (unauthorized)',
  integrity: 'pacspace-metering: two different deltas share a referenceId; the second was not delivered (integrity)',
};

interface Waiter {
  resolve(receipt: DeliveryReceipt): void;
  reject(error: Error): void;
}

/**
 * Settles one delta at a time, whatever request it travelled in: delivered, back to the queue for
 * a later request, or given up (dead-lettered when the store keeps them), with its counters,
 * hooks, log line and the `emit()` callers waiting for it.
 *
 * @example
 * outcomes.itemAnswered(member, { kind: 'transient', code: 'CADENCE_LIMIT', message, retryAfterMs: 60_000 }, 201);
 */
export class DeltaOutcomes {
  private readonly waiters = new Map<string, Waiter[]>();
  /**
   * Deltas a request ended without a definite answer for, and that request's endpoint: PacSpace
   * may have recorded them there. Kept beside the deltas rather than in them, so no store needs a
   * field for it; it lasts as long as the delta object (this process).
   */
  private readonly unconfirmed = new WeakMap<QueuedDelta, DeliveryMode>();

  constructor(private readonly ctx: OutcomeContext) {}

  /** How many deltas an `emit()` is waiting for. */
  get awaited(): number {
    return this.waiters.size;
  }

  /** Resolves with the delta's receipt once it is delivered; rejects with the reason it never will be. */
  awaitDelivery(referenceId: string): Promise<DeliveryReceipt> {
    return new Promise<DeliveryReceipt>((resolve, reject) => {
      const list = this.waiters.get(referenceId);
      if (list) list.push({ resolve, reject });
      else this.waiters.set(referenceId, [{ resolve, reject }]);
    });
  }

  /** Applies PacSpace's answer for one member of a batch (`status`: the answer's HTTP status, 0 when unknown). */
  itemAnswered(item: QueuedDelta, outcome: ItemOutcome, status: number): void {
    if (outcome.kind === 'delivered') return this.delivered(item, outcome.replayed, outcome.receipt);
    const retryAfterMs = outcome.kind === 'transient' ? outcome.retryAfterMs : undefined;
    const error = new PacSpaceApiError(`PacSpace refused delta ${item.referenceId} in a batch: ${outcome.code} (${outcome.message})`, {
      status,
      code: outcome.code,
      requestPath: '/api/v1/balance/delta/batch',
      retryAfterMs,
      customerId: item.customerId,
    });
    if (outcome.kind === 'permanent') return this.giveUp(item, outcome.integrity ? 'integrity' : 'rejected', error);
    if (outcome.code === 'CADENCE_LIMIT') {
      this.ctx.pauses.pauseCustomer(item.customerId, this.ctx.now() + this.ctx.retry.pauseMs(item.attempts, retryAfterMs));
    }
    this.retryLater(item, error, retryAfterMs);
  }

  delivered(item: QueuedDelta, deduplicated: boolean, receipt: Record<string, unknown>): void {
    const { counters, events } = this.ctx;
    this.ctx.store.remove(item);
    counters.delivered++;
    this.ctx.usage.tracker?.delivered(item.referenceId, receipt, this.ctx.now());
    if (deduplicated) counters.deduplicated++;
    // The common case (no logger, no hook, nobody awaiting) allocates nothing here.
    if (events.logs) events.logger.debug({ referenceId: item.referenceId, attempts: item.attempts, deduplicated }, 'pacspace-metering: delta delivered');
    if (events.has('onDelivered')) events.hook('onDelivered', { ...item.fields, attempts: item.attempts, deduplicated, receipt });
    if (this.waiters.size !== 0) {
      const delivery: DeliveryReceipt = { referenceId: item.referenceId, deduplicated, attempts: item.attempts, receipt };
      this.settleWaiters(item.referenceId, (w) => w.resolve(delivery));
    }
  }

  /**
   * Puts a delta that failed for now back in the queue, to travel in a later request after a
   * backoff (`hintMs`, the server's retry hint, is a floor); or gives it up when the meter stopped
   * or its attempts or time ran out.
   */
  retryLater(item: QueuedDelta, error: Error, hintMs: number | undefined): void {
    const { store, counters, events, retry } = this.ctx;
    const at = this.ctx.now();
    const expired = this.ctx.stopped() ? 'shutdown' : retry.expiredReason(item, at);
    if (expired) return this.giveUp(item, expired, error);
    const delayMs = retry.delayMs(item.attempts, hintMs, retry.deadlineOf(item), at);
    item.dueAt = at + delayMs;
    store.release(item, at);
    counters.retried++;
    if (events.logs) events.logger.debug({ referenceId: item.referenceId, attempts: item.attempts, delayMs, err: error }, 'pacspace-metering: retrying delta');
    if (events.has('onRetry')) events.hook('onRetry', { referenceId: item.referenceId, customerId: item.customerId, attempts: item.attempts, delayMs, error });
  }

  /** A request that carried `item` through `mode`'s endpoint ended without a definite answer. The first endpoint is kept. */
  markUnconfirmed(item: QueuedDelta, mode: DeliveryMode): void {
    if (!this.unconfirmed.has(item)) this.unconfirmed.set(item, mode);
  }

  /** The endpoint through which PacSpace may have recorded `item` already, or undefined when every request that carried it was answered. */
  unconfirmedOn(item: QueuedDelta): DeliveryMode | undefined {
    return this.unconfirmed.get(item);
  }

  /** Removes (or dead-letters) a leased delta that will not be delivered, and reports it. */
  giveUp(item: QueuedDelta, reason: DropReason, cause: Error): void {
    const { store } = this.ctx;
    if (this.ctx.stopped() && store.durable && reason === 'shutdown') {
      // A durable store keeps it for the next start; nothing is lost.
      item.dueAt = 0;
      store.release(item, this.ctx.now());
      return;
    }
    if (store.deadLetter && reason !== 'shutdown') store.deadLetter(item, reason, cause);
    else store.remove(item);
    this.reportLost(item, reason, cause);
  }

  /**
   * Counts and reports a delta that left the store undelivered. One that a request ended without
   * an answer for is reported as possibly recorded (`mayBeRecorded`): PacSpace may have it, and it
   * was never resent under another key; check before billing it another way.
   */
  reportLost(item: QueuedDelta, reason: DropReason, cause: Error): void {
    const { counters, events } = this.ctx;
    // A code from upstream can be anything (a proxy's sentence, customer ids): counted by known code only.
    const code = errorCodeLabel((cause as MeteringError).code ?? 'UNKNOWN');
    if (reason !== 'shutdown') counters.failed[code] = (counters.failed[code] ?? 0) + 1;
    const mayBeRecorded = this.unconfirmed.has(item);
    // A balance gate keeps counting one PacSpace may have recorded (as a delivery with no receipt); the others were never billed.
    if (mayBeRecorded) this.ctx.usage.tracker?.delivered(item.referenceId, undefined, this.ctx.now());
    else this.ctx.usage.tracker?.settle(item.referenceId);
    const message = LOST_MESSAGES[reason] ?? `pacspace-metering: delta not delivered (${reason})`;
    const fields = { referenceId: item.referenceId, customerId: item.customerId, reason, attempts: item.attempts, err: cause };
    const dropped = { reason, referenceId: item.referenceId, customerId: item.customerId, delta: item.fields.delta, attempts: item.attempts, error: cause };
    reportDrop(counters, events, {
      event: mayBeRecorded ? { ...dropped, mayBeRecorded: true as const } : dropped,
      count: 1,
      level: reason === 'integrity' || reason === 'unauthorized' ? 'error' : 'warn',
      message: mayBeRecorded ? `${message}; PacSpace may have recorded it: a request that carried it ended without an answer` : message,
      logFields: mayBeRecorded ? { ...fields, mayBeRecorded } : fields,
      errorStage: { stage: 'delivery', referenceId: item.referenceId, customerId: item.customerId },
    });
    if (this.waiters.size === 0) return;
    const droppedError = new DeltaDroppedError(reason, `delta ${item.referenceId} was not delivered (${reason}): ${cause.message}`, { cause });
    this.settleWaiters(item.referenceId, (w) => w.reject(reason === 'rejected' || reason === 'integrity' || reason === 'unauthorized' ? cause : droppedError));
  }

  private settleWaiters(referenceId: string, settleOne: (w: Waiter) => void): void {
    const list = this.waiters.get(referenceId);
    if (!list) return;
    this.waiters.delete(referenceId);
    for (const waiter of list) settleOne(waiter);
  }
}
