import { refuseDelta } from '../reporting/drop-report.js';
import { DeltaDroppedError } from '../errors.js';
import type { UsageTap } from '../balance/unsettled-usage.js';
import type { MeterEvents } from '../reporting/meter-events.js';
import type { MeterConfig } from '../options.js';
import type { OverflowSums } from './overflow-sums.js';
import type { Counters } from '../reporting/stats.js';
import type { MeterStore } from '../store/store.js';
import type { DeltaInput, EnqueueResult } from '../meter-api.js';
import type { OverflowSum } from './overflow-sums.js';
import type { QueueWriter } from './queue-writer.js';
import { totalOf } from './running-sum.js';
import { serializeDelta, type DeltaFields } from './validation.js';

/** Generous size of an overflow sum's delta (ids, reason and its small metadata), to check for room before building it. */
const OVERFLOW_DELTA_BYTES = 2048;

/**
 * What {@link QueueFull} needs from the Meter (a part of the intake's context).
 *
 * @example
 * const context: QueueFullContext = { config, store, counters, events, now: Date.now, overflow: undefined, usage: { tracker: undefined } };
 */
export interface QueueFullContext {
  config: MeterConfig;
  store: MeterStore;
  counters: Counters;
  events: MeterEvents;
  now: () => number;
  /** The overflow sums, or undefined with `overflow: 'drop'`. */
  overflow: OverflowSums | undefined;
  /** Counts accepted deltas per customer once a balance gate asked for it. */
  usage: UsageTap;
}

/**
 * What the intake does when the queue is full (`maxQueueSize` or `maxQueueBytes`): leave the delta
 * to a store that is the queue (a durable one keeps it beyond memory), fold it into its overflow
 * sum (`overflow: 'fold'`), or refuse it; and, once there is room, queue the overflow sums. Says
 * once per episode that the queue is full.
 *
 * @example
 * const full = new QueueFull(ctx, writer);
 * if (full.isFull(bytes)) return full.whenFull(input, fields, true, false);
 */
export class QueueFull {
  /** Inside an episode of a full queue (said once, until there is room again). */
  private overflowing = false;
  /** The store keeps deltas beyond the memory window: a full queue is never folded. */
  private readonly storeIsQueue: boolean;
  private queueFullError: DeltaDroppedError | undefined;

  constructor(
    private readonly ctx: QueueFullContext,
    private readonly writer: QueueWriter,
  ) {
    this.storeIsQueue = typeof ctx.store.backlog === 'function';
  }

  /** Whether `bytes` more would pass the queue's limits. */
  isFull(bytes: number): boolean {
    const { store, config } = this.ctx;
    return store.count() >= config.maxQueueSize || store.bytes() + bytes > config.maxQueueBytes;
  }

  /** There was room for a delta: a store that is the queue ends its episode. */
  hadRoom(): void {
    if (this.storeIsQueue) this.overflowing = false;
  }

  /**
   * The queue is full: undefined when the delta goes to the store all the same (a store that is
   * the queue keeps it beyond memory; said once per episode), else the answer (folded, or refused).
   */
  whenFull(input: DeltaInput, fields: DeltaFields, canFold: boolean, correction: boolean): EnqueueResult | undefined {
    const { config, counters, events } = this.ctx;
    if (canFold && this.storeIsQueue) {
      this.sayFull(' in memory; further deltas wait, whole, in the durable store until there is room');
      return undefined;
    }
    // A correction names the delta it adjusts: summed with others, it would lose that.
    if (canFold && !correction && this.fold(fields)) return { accepted: true, referenceId: fields.referenceId, folded: true };
    // During an outage every request lands here: reuse one error rather than capture a stack each time.
    this.queueFullError ??= new DeltaDroppedError('queue_full', `the queue is full (maxQueueSize ${config.maxQueueSize}, maxQueueBytes ${config.maxQueueBytes})`);
    return refuseDelta(counters, events, 'queue_full', this.queueFullError, input, fields.referenceId);
  }

  /** Queues overflow sums while the queue has room; `force` queues them all (a durable store at shutdown). */
  queueOverflow(force = false): void {
    const { overflow, events } = this.ctx;
    if (!overflow || overflow.size === 0) return;
    while (overflow.size > 0 && (force || !this.isFull(OVERFLOW_DELTA_BYTES))) this.queueSum(overflow.take()!);
    if (overflow.size === 0 && this.overflowing) {
      this.overflowing = false;
      events.logger.info({}, 'pacspace-metering: every overflow sum is queued');
    }
  }

  /** Says once per episode that the queue is full, and what becomes of further deltas. */
  private sayFull(then: string): void {
    if (this.overflowing) return;
    this.overflowing = true;
    const { config } = this.ctx;
    this.ctx.events.logger.warn({ maxQueueSize: config.maxQueueSize, maxQueueBytes: config.maxQueueBytes }, `pacspace-metering: the queue is full${then}`);
  }

  private fold(fields: DeltaFields): boolean {
    const { ctx } = this;
    if (!ctx.overflow?.add(fields.customerId, fields.reason, fields.delta, ctx.now())) return false;
    const sum = ctx.usage.tracker && ctx.overflow.sumOf(fields.customerId, fields.reason);
    if (sum) ctx.usage.tracker!.add(sum.referenceId, fields.customerId, fields.delta, sum.firstAt);
    ctx.counters.accepted++;
    ctx.counters.folded++;
    this.sayFull('; further deltas are summed per (customer, reason) and billed as one delta each once there is room (per-request detail is not kept)');
    return true;
  }

  private queueSum(sum: OverflowSum): void {
    const delta = totalOf(sum);
    if (delta === 0) {
      this.ctx.usage.tracker?.settle(sum.referenceId);
      return; // the deltas netted out: nothing to bill
    }
    const metadata = { overflow: { deltas: sum.deltas, firstAcceptedAt: new Date(sum.firstAt).toISOString(), lastAcceptedAt: new Date(sum.lastAt).toISOString() } };
    const fields: DeltaFields = { customerId: sum.customerId, delta, reason: sum.reason, referenceId: sum.referenceId };
    const body = serializeDelta({ ...fields, metadata });
    this.writer.add(fields, body, Buffer.byteLength(body));
  }
}
