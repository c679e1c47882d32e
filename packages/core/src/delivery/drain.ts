import type { DeliveryLoop } from './delivery-loop.js';
import type { DeltaOutcomes } from './delta-outcomes.js';
import { DeltaDroppedError, MeteringError } from '../errors.js';
import type { Intake } from '../intake/intake.js';
import type { MeterEvents } from '../reporting/meter-events.js';
import type { OverflowSum, OverflowSums } from '../intake/overflow-sums.js';
import { totalOf } from '../intake/running-sum.js';
import { copyCounters, newCounters, sum, type CloseReport, type Counters, type DrainReport } from '../reporting/stats.js';
import type { MeterStore } from '../store/store.js';
import { reportDrop } from '../reporting/drop-report.js';

/** The Meter's lifecycle flags, shared by its units. */
export interface MeterLifecycle {
  /** `close()` was called: intake refuses. */
  closed: boolean;
  /** A `close()` ran out of time: nothing more is sent. */
  stopped: boolean;
}

/** What {@link Drain} needs from the Meter. */
export interface DrainContext {
  lifecycle: MeterLifecycle;
  store: MeterStore;
  counters: Counters;
  events: MeterEvents;
  loop: DeliveryLoop;
  intake: Intake;
  outcomes: DeltaOutcomes;
  overflow: OverflowSums | undefined;
  /** Closes what the Meter owns (its built-in client's sockets, abandoning requests still in flight; the store). */
  release(): Promise<void>;
}

/**
 * `flush()` and `close()`: concurrent calls join one drain that really waits for everything
 * queued, in flight, waiting to retry and summed in overflow; a close that runs out of time stops
 * delivery and reports what was left.
 *
 * @example
 * const drain = new Drain(context);
 * await drain.flush(5_000);
 */
export class Drain {
  private readonly waiters = new Set<() => void>();
  private closing: Promise<CloseReport> | undefined;

  constructor(private readonly ctx: DrainContext) {}

  /** True while a flush or close waits. */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  /** Deltas not yet settled: held in memory, summed in overflow, or kept by a store beyond memory. */
  pending(): number {
    const { store, overflow } = this.ctx;
    return store.count() + (store.backlog?.() ?? 0) + (overflow?.deltas ?? 0);
  }

  isIdle(): boolean {
    return this.pending() === 0 && this.ctx.loop.inFlightRequests === 0;
  }

  /** Called after every settled request: ends the drain when nothing is left. */
  check(): void {
    if (this.waiters.size === 0 || !this.isIdle()) return;
    for (const done of [...this.waiters]) done();
  }

  /** `reportPending`: time running out with deltas still held is reported (logger and `onError`), not only answered. */
  async flush(timeoutMs?: number, reportPending = false): Promise<DrainReport> {
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) throw new TypeError('flush: timeoutMs must be a non-negative number of milliseconds');
    const start = copyCounters(this.ctx.counters);
    // A store that keeps deltas beyond memory (rows an earlier run left in a shared table) says how many first.
    await this.ctx.store.refreshBacklog?.();
    const report = this.reportSince(start, await this.waitIdle(timeoutMs));
    if (reportPending && report.timedOut && report.pending > 0) this.reportStillPending(report.pending, timeoutMs!);
    return report;
  }

  close(timeoutMs = 30_000): Promise<CloseReport> {
    this.closing ??= (async () => {
      this.ctx.lifecycle.closed = true;
      await this.ctx.store.refreshBacklog?.();
      const timedOut = await this.waitIdle(timeoutMs);
      // What was undelivered when time ran out, whether it is then dropped, kept or still in flight:
      // deltas, a sum counting the deltas it holds; the ids of those held in memory and of the sums.
      const pending = this.pending();
      const pendingReferenceIds = this.pendingReferenceIds();
      if (timedOut) this.stop(pending);
      await this.ctx.release();
      // The meter's whole life, not just the drain: after a quiet period the drain itself delivers nothing.
      return { ...this.reportSince(newCounters(), timedOut), pending, pendingReferenceIds };
    })();
    return this.closing;
  }

  /** The referenceIds of every delta held (queued, waiting to retry, in flight) and of every open overflow sum. */
  private pendingReferenceIds(): string[] {
    return [...this.ctx.store.list().map((item) => item.referenceId), ...(this.ctx.overflow?.list().map((s) => s.referenceId) ?? [])];
  }

  /**
   * A flush that ran out of time where the process may stop right after it (a serverless
   * function returning): what is still held is not lost yet, but will be if the process is frozen
   * for good or ends first, so it is said, through the logger and `onError`.
   */
  private reportStillPending(pending: number, timeoutMs: number): void {
    const { events } = this.ctx;
    events.logger.warn({ pending, referenceIds: this.pendingReferenceIds() }, 'pacspace-metering: flush timed out with deltas undelivered');
    const message = `flush() ran out of time (${timeoutMs} ms) with ${pending} delta(s) undelivered: they stay queued in this process and are sent by a later flush, unless the process is frozen for good or ends first`;
    events.error(new MeteringError('FLUSH_TIMEOUT', message), { stage: 'delivery' });
  }

  /** Resolves true when `timeoutMs` ran out before the meter was idle. */
  private async waitIdle(timeoutMs: number | undefined): Promise<boolean> {
    if (this.isIdle() || this.ctx.lifecycle.stopped) return !this.isIdle();
    let done!: () => void;
    const drained = new Promise<void>((resolve) => (done = resolve));
    this.waiters.add(done);
    // Send what is due without lingering, and keep the process alive while we wait.
    this.ctx.intake.queueOverflow();
    this.ctx.loop.hurry();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await new Promise<boolean>((resolve) => {
      drained.then(() => resolve(false));
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve(true), timeoutMs);
    });
    clearTimeout(timer);
    this.waiters.delete(done);
    this.ctx.loop.relax();
    return timedOut;
  }

  /**
   * Out of time: nothing more is sent. A durable store keeps what is left (overflow sums
   * included) for the next start; in memory, what is not in flight will never be sent, and each
   * such delta is reported as dropped (`shutdown`). In-flight deltas settle when their answer arrives.
   */
  private stop(pending: number): void {
    const { lifecycle, store, loop, outcomes, intake, events } = this.ctx;
    lifecycle.stopped = true;
    loop.stop();
    const waitingBatches = loop.takeWaitingBatches();
    if (store.durable) {
      intake.queueOverflow(true);
      for (const batch of waitingBatches) for (const member of batch.members) outcomes.giveUp(member, 'shutdown', shutdownError(member.referenceId));
    } else {
      for (const item of store.takeWaiting()) outcomes.reportLost(item, 'shutdown', shutdownError(item.referenceId));
      for (const batch of waitingBatches) for (const member of batch.members) outcomes.giveUp(member, 'shutdown', shutdownError(member.referenceId));
      for (let s = this.ctx.overflow?.take(); s; s = this.ctx.overflow?.take()) this.reportLostSum(s);
    }
    events.logger.warn({ pending }, 'pacspace-metering: close timed out with deltas undelivered');
  }

  private reportLostSum(overflowSum: OverflowSum): void {
    const { counters, events } = this.ctx;
    const error = new DeltaDroppedError('shutdown', `close() timed out before the overflow sum ${overflowSum.referenceId} of ${overflowSum.deltas} delta(s) was queued`);
    reportDrop(counters, events, {
      event: { reason: 'shutdown', referenceId: overflowSum.referenceId, customerId: overflowSum.customerId, delta: totalOf(overflowSum), attempts: 0, error },
      count: overflowSum.deltas,
      level: 'warn',
      message: 'pacspace-metering: overflow sum not delivered (shutdown)',
      logFields: { referenceId: overflowSum.referenceId, customerId: overflowSum.customerId, deltas: overflowSum.deltas },
    });
  }

  private reportSince(start: Counters, timedOut: boolean): DrainReport {
    const { counters } = this.ctx;
    return {
      delivered: counters.delivered - start.delivered,
      deduplicated: counters.deduplicated - start.deduplicated,
      failed: sum(counters.failed) - sum(start.failed),
      dropped: sum(counters.dropped) - sum(start.dropped),
      pending: this.pending(),
      timedOut,
    };
  }
}

function shutdownError(referenceId: string): DeltaDroppedError {
  return new DeltaDroppedError('shutdown', `close() timed out before delta ${referenceId} was delivered`);
}
