import type { DeltaInput, EnqueueResult, Meter } from '../../meter-api.js';
import { addToSum, totalOf, type RunningSum } from '../../intake/running-sum.js';
import { DELTA_LIMITS } from '../../intake/validation.js';
import type { AggregatingConfig } from './aggregating-options.js';
import { compactUtc } from '../interval.js';
import { aggregateReferenceId } from '../keys.js';

/** A window's names, computed once per window rather than once per aggregate. */
interface WindowNames {
  start: number;
  compact: string;
  startIso: string;
  endIso: string;
}

interface Aggregate extends RunningSum {
  customerId: string;
  reason: string;
  windowStart: number;
  window: WindowNames;
  referenceId: string;
  count: number;
}

/**
 * Counters of an aggregating meter's sums.
 *
 * @example
 * const counters: AggregateCounters = { requests: 0, refusedClosed: 0, aggregatesEnqueued: 0, aggregatesRefused: 0, nettedToZero: 0 };
 */
export interface AggregateCounters {
  requests: number;
  refusedClosed: number;
  aggregatesEnqueued: number;
  aggregatesRefused: number;
  nettedToZero: number;
}

/**
 * The open sums of an aggregating meter, one per (customer, reason) of the current window, and the
 * one timer (unref'd, armed only while sums are open) that hands each to the meter when its window ends.
 *
 * @example
 * const sums = new OpenAggregates(meter, config);
 * sums.add({ customerId: 'acme', delta: -1, reason: 'search' });
 * sums.sendWhere(Infinity);
 */
export class OpenAggregates {
  /** customerId -> reason -> open aggregate. */
  private readonly open = new Map<string, Map<string, Aggregate>>();
  /** Open sums. */
  count = 0;
  /** Requests summed in the open sums. */
  requests = 0;
  readonly counters: AggregateCounters = { requests: 0, refusedClosed: 0, aggregatesEnqueued: 0, aggregatesRefused: 0, nettedToZero: 0 };
  private part = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private names: WindowNames | undefined;

  constructor(
    private readonly meter: Meter,
    private readonly config: AggregatingConfig,
  ) {}

  /**
   * Adds a valid delta to its sum: opens one (and arms the timer) when there is none for this
   * window, and first sends the old one when the window moved on or the sum would leave the API's range.
   */
  add(input: DeltaInput): EnqueueResult {
    const { customerId, reason, delta } = input;
    const at = this.config.now();
    const windowStart = at - (at % this.config.windowMs);
    let aggregate = this.open.get(customerId)?.get(reason);
    if (aggregate && (aggregate.windowStart !== windowStart || Math.abs(totalOf(aggregate) + delta) > DELTA_LIMITS.maxAbsDelta)) {
      // The window moved on before the timer fired, or the sum would leave the API's range: close it.
      this.send(aggregate);
      aggregate = undefined;
    }
    if (!aggregate) {
      if (this.count >= this.config.maxOpen) {
        this.sendWhere(Infinity);
        this.rearm();
      }
      aggregate = this.openAggregate(customerId, reason, windowStart);
    }
    addToSum(aggregate, delta);
    aggregate.count++;
    this.requests++;
    this.counters.requests++;
    return { accepted: true, referenceId: aggregate.referenceId };
  }

  /** Sends the aggregates whose window started before `before` (all of them with Infinity). */
  sendWhere(before: number): number {
    const due: Aggregate[] = [];
    for (const byReason of this.open.values()) for (const aggregate of byReason.values()) if (aggregate.windowStart < before) due.push(aggregate);
    for (const aggregate of due) this.send(aggregate);
    return due.length;
  }

  /** Sends the aggregates of every window that has ended by now, and re-arms the timer. */
  closeEndedWindows(): number {
    const at = this.config.now();
    const sent = this.sendWhere(at - (at % this.config.windowMs));
    this.rearm();
    return sent;
  }

  /** Re-arms for the earliest open window, or leaves no timer when nothing is open. */
  rearm(): void {
    if (this.count === 0) {
      this.clearTimer();
      return;
    }
    let earliest = Infinity;
    for (const byReason of this.open.values()) for (const aggregate of byReason.values()) earliest = Math.min(earliest, aggregate.windowStart);
    if (this.timer && this.timerAt === earliest + this.config.windowMs) return;
    this.clearTimer();
    this.armTimer(earliest + this.config.windowMs);
  }

  private windowNames(start: number): WindowNames {
    if (this.names?.start !== start) this.names = { start, compact: compactUtc(start), startIso: new Date(start).toISOString(), endIso: new Date(start + this.config.windowMs).toISOString() };
    return this.names;
  }

  private openAggregate(customerId: string, reason: string, windowStart: number): Aggregate {
    this.part++;
    const window = this.windowNames(windowStart);
    const referenceId = aggregateReferenceId({ scope: this.meter.scope, reason, customerId, windowStart: window.compact, instance: this.config.instanceId, part: this.part });
    const aggregate: Aggregate = { customerId, reason, windowStart, window, referenceId, sum: 0, compensation: 0, count: 0 };
    let byReason = this.open.get(customerId);
    if (!byReason) {
      byReason = new Map();
      this.open.set(customerId, byReason);
    }
    byReason.set(reason, aggregate);
    this.count++;
    this.armTimer(windowStart + this.config.windowMs);
    return aggregate;
  }

  /** Hands one aggregate to the meter and forgets it. */
  private send(aggregate: Aggregate): void {
    const byReason = this.open.get(aggregate.customerId);
    if (byReason?.get(aggregate.reason) === aggregate) {
      byReason.delete(aggregate.reason);
      if (byReason.size === 0) this.open.delete(aggregate.customerId);
      this.count--;
      this.requests -= aggregate.count;
    }
    const delta = totalOf(aggregate);
    if (delta === 0 || aggregate.count === 0) {
      if (aggregate.count > 0) this.counters.nettedToZero++;
      return;
    }
    const result = this.meter.enqueue({
      customerId: aggregate.customerId,
      delta,
      reason: aggregate.reason,
      referenceId: aggregate.referenceId,
      metadata: { aggregatedRequests: aggregate.count, windowStart: aggregate.window.startIso, windowEnd: aggregate.window.endIso },
    });
    if (result.accepted) this.counters.aggregatesEnqueued++;
    else this.counters.aggregatesRefused++;
  }

  private armTimer(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.min(Math.max(0, at - this.config.now()), 2_147_483_647));
    this.timer.unref?.();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.closeEndedWindows();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
