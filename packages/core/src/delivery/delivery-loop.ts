import { formBatch, halves, type Batch, type DeliveryMode } from './batch.js';
import type { BatchSender } from './batch-sender.js';
import { holdUnconfirmed, type BatchVerdict } from './batch-verdict.js';
import type { DeltaOutcomes } from './delta-outcomes.js';
import { DeliveryModeSwitch } from './delivery-mode.js';
import type { DeliveryRetry } from './delivery-retry.js';
import { DeltaDroppedError, MeteringError, type PacSpaceApiError } from '../errors.js';
import type { MeterEvents } from '../reporting/meter-events.js';
import { MinHeap } from './min-heap.js';
import { BATCH_ENVELOPE_BYTES, type MeterConfig } from '../options.js';
import type { Pauses } from './pauses.js';
import type { Counters } from '../reporting/stats.js';
import type { MeterStore, QueuedDelta } from '../store/store.js';

/** What the loop needs from the Meter. */
export interface DeliveryContext {
  config: MeterConfig;
  store: MeterStore;
  counters: Counters;
  events: MeterEvents;
  pauses: Pauses;
  outcomes: DeltaOutcomes;
  sender: BatchSender;
  retry: DeliveryRetry;
  now: () => number;
  mode: DeliveryMode;
  /** True while a flush, close or `emit()` waits: send without lingering, and keep the process alive. */
  urgent(): boolean;
  /** Called after every settled request: the drain may be over, overflow sums may fit now. */
  settled(): void;
}

/**
 * Moves deltas from the store to PacSpace: forms batches, sends up to `concurrency` requests at a
 * time, and applies each answer. A batch goes out when `maxBatchSize` deltas are due, when the
 * first of them has waited `flushIntervalMs`, or at once while someone waits (flush, close, emit).
 * A batch that failed transiently waits, frozen, in its own heap and is resent first when due.
 *
 * @example
 * const loop = new DeliveryLoop(context);
 * loop.accepted(); // after each delta the store took
 */
export class DeliveryLoop {
  /** Deltas in requests under way. */
  inFlightDeltas = 0;
  /** Requests under way. */
  inFlightRequests = 0;
  /** Batches or one delta per request; single after PacSpace said it has no batch endpoint, until a probe. */
  private readonly modes: DeliveryModeSwitch;
  private stopped = false;
  private readonly retrying = new MinHeap<Batch>((batch) => batch.dueAt);
  private pumpScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  /** When the due deltas must go even if no batch is full; undefined while nothing is due. */
  private lingerUntil: number | undefined;
  private acceptedSincePump = 0;
  /** A store's asynchronous lease is under way. */
  private leasing = false;

  constructor(private readonly ctx: DeliveryContext) {
    this.modes = new DeliveryModeSwitch(ctx.mode, ctx.config.retryMaxDelayMs);
  }

  /** A delta was accepted into the store: pump when a batch is full, or when no linger window is open yet. */
  accepted(): void {
    if (this.pumpScheduled || this.stopped) return;
    if (this.lingerUntil !== undefined && this.modes.current === 'batch' && ++this.acceptedSincePump < this.ctx.config.maxBatchSize && !this.ctx.urgent()) return;
    this.schedulePump();
  }

  /** Someone started waiting (flush, close, emit): send what is due now and keep the process alive. */
  hurry(): void {
    // Start afresh rather than trust what is armed: a runtime may have dropped it (Cloudflare
    // Workers cancel a request's timers once it ends), leaving a pump or a wake that never comes.
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
    this.pumpScheduled = false;
    this.schedulePump();
  }

  /** Nobody waits any more: idle timers must not keep the process alive. */
  relax(): void {
    if (!this.ctx.urgent()) this.wakeTimer?.unref?.();
  }

  /** Stops sending (a timed-out close) and abandons the SDK attempts under way; answers still arriving settle their deltas. */
  stop(): void {
    this.stopped = true;
    this.ctx.sender.abandon();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** Removes and returns the frozen batches waiting to be resent (used when a close gives up). */
  takeWaitingBatches(): Batch[] {
    const batches = [...this.retrying.values()];
    this.retrying.clear();
    return batches;
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.stopped || this.inFlightRequests >= this.ctx.config.concurrency) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    this.acceptedSincePump = 0;
    if (this.stopped) return;
    const { config, store, pauses } = this.ctx;
    const at = this.ctx.now();
    if (pauses.meterUntil > at) return this.armWake(pauses.meterUntil);
    while (this.hasSlot() && this.retrying.size > 0 && this.retrying.peek()!.dueAt <= at) this.send(this.retrying.pop()!);
    const single = this.modeAt(at) === 'single';
    const batchSize = single ? 1 : config.maxBatchSize;
    while (this.hasSlot() && !this.leasing) {
      const due = store.dueCount(at);
      if (due === 0) {
        this.lingerUntil = undefined;
        break;
      }
      this.lingerUntil ??= at + (single ? 0 : config.flushIntervalMs);
      if (due < batchSize && at < this.lingerUntil && !this.ctx.urgent()) break;
      const leased = store.leaseBatch(at, batchSize, config.maxBatchBytes - BATCH_ENVELOPE_BYTES, pauses.customerPausedUntil);
      if (!Array.isArray(leased)) return this.awaitLease(leased);
      if (leased.length > 0) this.send(this.form(leased));
    }
    this.armNextWake(at);
  }

  /**
   * A store that leases from a database answers later: one lease at a time, holding a request
   * slot meanwhile. What it leased is sent; an empty lease waits for the store's next due time
   * (its poll) or a new delta, never for an immediate retry that would hammer the database.
   */
  private awaitLease(leased: Promise<QueuedDelta[]>): void {
    this.leasing = true;
    this.inFlightRequests++;
    const done = (members: QueuedDelta[]) => {
      this.leasing = false;
      this.inFlightRequests--;
      if (this.stopped) {
        // Leased after a timed-out close: back to the store, for the next start or another instance.
        for (const member of members) this.ctx.store.release(member, this.ctx.now());
        return;
      }
      if (members.length > 0) {
        this.send(this.form(members));
        this.schedulePump();
      } else {
        this.armNextWake(this.ctx.now());
      }
      this.ctx.settled();
    };
    leased.then(done, (err) => {
      this.ctx.events.logger.error({ err }, 'pacspace-metering: the store failed to lease deltas');
      done([]);
    });
  }

  /** The mode of the batches formed now; says so when a probe brings batches back. */
  private modeAt(at: number): DeliveryMode {
    const before = this.modes.current;
    const mode = this.modes.modeAt(at);
    if (mode !== before) this.ctx.events.logger.info({}, 'pacspace-metering: trying the batch endpoint again');
    return mode;
  }

  /**
   * Freezes leased deltas into a batch of the current mode; except that a delta PacSpace may have
   * recorded through the batch endpoint goes there again even in single mode: the single endpoint
   * deduplicates by Idempotency-Key only, and its key (the referenceId) is not the batch's.
   */
  private form(members: QueuedDelta[]): Batch {
    const mode = this.modes.current === 'single' && this.ctx.outcomes.unconfirmedOn(members[0]!) === 'batch' ? 'batch' : this.modes.current;
    return formBatch(members, mode, this.ctx.config.scope);
  }

  private hasSlot(): boolean {
    return this.inFlightRequests < this.ctx.config.concurrency;
  }

  /** Wakes for the next thing that becomes due: a frozen batch, a delta's retry time, or the linger deadline. */
  private armNextWake(at: number): void {
    if (!this.hasSlot()) return; // the next answer pumps
    let next = this.retrying.peek()?.dueAt ?? Infinity;
    const storeDue = this.ctx.store.nextDueAt();
    if (storeDue !== undefined) next = Math.min(next, storeDue <= at ? (this.lingerUntil ?? at) : storeDue);
    if (next !== Infinity) this.armWake(next);
  }

  private armWake(at: number): void {
    if (this.wakeTimer && this.wakeAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.ctx.now()));
    // Idle waiting must not keep the process alive, but a flush, close or emit that waits must.
    if (!this.ctx.urgent()) this.wakeTimer.unref?.();
  }

  private send(batch: Batch): void {
    this.inFlightRequests++;
    this.inFlightDeltas += batch.members.length;
    batch.sends++;
    for (const member of batch.members) member.attempts++;
    this.ctx.counters.requests++;
    this.ctx.sender
      .send(batch)
      .then((verdict) => this.settle(batch, verdict))
      .catch((err) => this.ctx.events.logger.error({ err }, 'pacspace-metering: internal delivery error'));
  }

  private settle(batch: Batch, answer: BatchVerdict): void {
    this.inFlightRequests--;
    this.inFlightDeltas -= batch.members.length;
    const { outcomes, pauses } = this.ctx;
    const verdict = holdUnconfirmed(answer, batch.unconfirmed, () => batch.members.some((m) => outcomes.unconfirmedOn(m) === 'batch'));
    if (verdict.kind === 'retry') this.retryBatch(batch, verdict);
    else {
      pauses.answered();
      if (verdict.kind === 'answered') {
        if (batch.mode === 'batch') this.modes.batchAnswered();
        batch.members.forEach((member, i) => outcomes.itemAnswered(member, verdict.items[i]!, verdict.status));
      } else if (verdict.kind === 'failed') for (const member of batch.members) outcomes.giveUp(member, verdict.reason, verdict.error);
      else if (verdict.kind === 'halve') this.split(batch, verdict.error);
      else this.unbatch(batch, verdict.error);
    }
    this.ctx.settled();
    this.schedulePump();
  }

  /**
   * A transient failure of the whole request, or an answer that is not a definite one: PacSpace
   * may have recorded the batch, so its members are marked so, and the frozen batch is resent as
   * it is after a backoff (the server's hint a floor). Unless some member may not be tried again,
   * or a cadence limit names one customer: then the members go back to the queue one by one, to
   * travel again under new keys, which only the batch endpoint may carry for them (it deduplicates
   * each item by its referenceId; see `form`).
   */
  private retryBatch(batch: Batch, verdict: BatchVerdict & { kind: 'retry' }): void {
    const { outcomes, pauses, retry } = this.ctx;
    const at = this.ctx.now();
    batch.unconfirmed = true;
    for (const member of batch.members) outcomes.markUnconfirmed(member, batch.mode);
    if ((verdict.error as Partial<PacSpaceApiError>).pacspaceEnvelope === false) {
      this.ctx.events.logger.warn({ status: (verdict.error as PacSpaceApiError).status, err: verdict.error }, "pacspace-metering: an answer that is not PacSpace's (from a proxy, load balancer or firewall between?); retrying it");
    }
    const hint = retry.clampHint(verdict.retryAfterMs);
    const pending = verdict.error instanceof MeteringError && verdict.error.code === 'IDEMPOTENCY_PENDING';
    pauses.failed(at, hint, verdict.pause === 'meter', pending);
    const paused = typeof verdict.pause === 'object' ? verdict.pause.customerId : undefined;
    if (paused !== undefined) pauses.pauseCustomer(paused, at + retry.pauseMs(batch.sends, hint));
    if (this.stopped) {
      // A close ran out of time with this request under way: it was abandoned, not answered.
      const error = new DeltaDroppedError('shutdown', 'close() timed out while this delta was in a request under way; PacSpace may or may not have recorded it', { cause: verdict.error });
      for (const member of batch.members) outcomes.giveUp(member, 'shutdown', error);
      return;
    }
    const dissolve = (paused !== undefined && batch.members.length > 1) || batch.members.some((m) => retry.expiredReason(m, at) !== undefined);
    if (dissolve) {
      for (const member of batch.members) outcomes.retryLater(member, verdict.error, member.customerId === paused ? hint : undefined);
      return;
    }
    const deadline = Math.min(...batch.members.map((m) => retry.deadlineOf(m)));
    const delayMs = retry.delayMs(batch.sends, hint, deadline, at);
    batch.dueAt = at + delayMs;
    this.retrying.push(batch);
    this.reportBatchRetry(batch, verdict.error, delayMs);
  }

  private reportBatchRetry(batch: Batch, error: Error, delayMs: number): void {
    const { counters, events } = this.ctx;
    counters.retried += batch.members.length;
    if (events.logs) events.logger.debug({ key: batch.key, deltas: batch.members.length, sends: batch.sends, delayMs, err: error }, 'pacspace-metering: retrying request');
    if (!events.has('onRetry')) return;
    for (const m of batch.members) events.hook('onRetry', { referenceId: m.referenceId, customerId: m.customerId, attempts: m.attempts, delayMs, error });
  }

  /** 413, or a batch-level refusal one bad member can cause: send each half on its own, at once. */
  private split(batch: Batch, error: Error): void {
    const [left, right] = halves(batch, this.ctx.config.scope);
    if (this.ctx.events.logs) this.ctx.events.logger.debug({ key: batch.key, deltas: batch.members.length, err: error }, 'pacspace-metering: splitting a refused batch');
    this.retrying.push(left);
    this.retrying.push(right);
  }

  /**
   * PacSpace answered that the batch endpoint is not there (to a batch it cannot have recorded):
   * the members go back to the queue, and this meter delivers one delta per request until a probe
   * finds the endpoint back.
   */
  private unbatch(batch: Batch, error: Error): void {
    const at = this.ctx.now();
    const singleForMs = this.modes.noBatchEndpoint(at);
    if (singleForMs !== undefined) {
      this.ctx.events.logger.warn({ err: error, retryBatchesInMs: singleForMs }, 'pacspace-metering: the batch endpoint answered that it does not exist; delivering one delta per request, and trying batches again later');
    }
    for (const member of batch.members) {
      member.dueAt = 0;
      this.ctx.store.release(member, at);
    }
  }
}
