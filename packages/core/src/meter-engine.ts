import type { UsageTap } from './balance/unsettled-usage.js';
import { createBatchSender, type BatchSender } from './delivery/batch-sender.js';
import type { BalanceClient, PacSpaceClient } from './client/client.js';
import { DeliveryLoop } from './delivery/delivery-loop.js';
import { DeltaOutcomes } from './delivery/delta-outcomes.js';
import { DeliveryRetry } from './delivery/delivery-retry.js';
import { Drain, type MeterLifecycle } from './delivery/drain.js';
import { createIntake, type Intake } from './intake/intake.js';
import type { DeliveryReceipt } from './meter-api.js';
import type { MeterEvents } from './reporting/meter-events.js';
import type { MeterConfig } from './options.js';
import { OverflowSums } from './intake/overflow-sums.js';
import { Pauses } from './delivery/pauses.js';
import { newCounters, type Counters, type MeterStats } from './reporting/stats.js';
import type { MeterStore, StoreIdentity } from './store/store.js';

/**
 * What the engine is built from: the checked config, the client, the store and who the Meter is.
 *
 * @example
 * const parts: EngineParts = { config, client, builtIn, ownClient: true, store, identity, events, now: Date.now, random: Math.random };
 */
export interface EngineParts {
  config: MeterConfig;
  client: BalanceClient;
  /** The client when it is this library's own (it sends the frozen body bytes as they are). */
  builtIn: PacSpaceClient | undefined;
  /** True when the Meter made its client: its sockets are closed on `close()`. */
  ownClient: boolean;
  store: MeterStore;
  identity: StoreIdentity;
  events: MeterEvents;
  now: () => number;
  random: () => number;
  /** The edge where requests leave: by default {@link createBatchSender} over `client`; a unit test's fake sender. */
  sender?: BatchSender;
}

/**
 * Owns a Meter's units and its lifecycle. It builds them in order (pauses, outcomes, loop, intake,
 * drain), and the reactions between units are its own methods, so who tells whom is read here and
 * nowhere else:
 * - the store took a delta ({@link accepted}) -> the loop may pump;
 * - a request settled ({@link settled}) -> overflow sums may fit now, a drain may be over;
 * - someone waits ({@link urgent}: a flush, a close, an `emit()`) -> the loop sends without lingering.
 *
 * @example
 * const engine = new MeterEngine(parts);
 * engine.intake.accept({ customerId: 'acme', delta: -1, reason: 'api_request' }, true);
 * await engine.drain.close(10_000);
 */
export class MeterEngine {
  readonly lifecycle: MeterLifecycle = { closed: false, stopped: false };
  readonly counters: Counters = newCounters();
  /** Counts accepted deltas per customer once a balance gate asked for it. */
  readonly usage: UsageTap = { tracker: undefined };
  readonly pauses: Pauses;
  readonly overflow: OverflowSums | undefined;
  readonly outcomes: DeltaOutcomes;
  readonly loop: DeliveryLoop;
  readonly intake: Intake;
  readonly drain: Drain;

  constructor(private readonly parts: EngineParts) {
    const { config, client, builtIn, store, identity, events, now, random } = parts;
    const { counters, usage, lifecycle } = this;
    const retry = new DeliveryRetry(config, random);
    this.pauses = new Pauses(retry, now);
    const pauses = this.pauses;
    this.overflow = config.overflow === 'fold' ? new OverflowSums(config.scope, config.maxOverflowSums) : undefined;
    const overflow = this.overflow;
    this.outcomes = new DeltaOutcomes({ config, store, counters, events, pauses, retry, now, usage, stopped: () => lifecycle.stopped });
    const outcomes = this.outcomes;
    // Batches need the batch endpoint: the built-in client has it, an SDK-shaped client may not.
    const mode = config.delivery === 'single' || (!builtIn && typeof client.balance.emitBatch !== 'function') ? 'single' : 'batch';
    const sender = parts.sender ?? createBatchSender(client, builtIn, config.attemptTimeoutMs);
    this.loop = new DeliveryLoop({ config, store, counters, events, pauses, outcomes, retry, now, mode, sender, urgent: () => this.urgent(), settled: () => this.settled() });
    const loop = this.loop;
    this.intake = createIntake({ config, store, identity, counters, events, now, overflow, usage, closed: () => lifecycle.closed, accepted: () => loop.accepted() });
    const intake = this.intake;
    this.drain = new Drain({ lifecycle, store, counters, events, loop, intake, outcomes, overflow, release: () => this.release() });
    // A durable store may hold deltas from an earlier run (or, shared, other instances' deltas to
    // take over): resume them with their frozen bodies.
    if (store.count() > 0 || store.nextDueAt() !== undefined) loop.schedulePump();
  }

  /** True while someone waits for delivery: a flush, a close, an `emit()`. */
  urgent(): boolean {
    return this.drain.waiting || this.outcomes.awaited > 0;
  }

  /** After every settled request: overflow sums may fit now, a drain may be over. */
  settled(): void {
    this.intake.queueOverflow();
    this.drain.check();
  }

  /** `emit()`: waits for the delta's delivery; timers stay ref'd meanwhile, so a script does not exit first. */
  awaitDelivery(referenceId: string): Promise<DeliveryReceipt> {
    const delivered = this.outcomes.awaitDelivery(referenceId);
    this.loop.hurry();
    const relax = () => this.loop.relax();
    delivered.then(relax, relax);
    return delivered;
  }

  /** `stats()`: counters, plus what is queued, in flight, folded and paused now. */
  stats(): MeterStats {
    const { store, now } = this.parts;
    const { counters, loop, overflow, pauses } = this;
    const oldest = store.oldestAcceptedAt();
    const at = now();
    return {
      ...counters,
      dropped: { ...counters.dropped },
      failed: { ...counters.failed },
      skipped: { ...counters.skipped },
      // A store that is the queue holds more than memory does: those wait too.
      queued: store.count() + (store.backlog?.() ?? 0) - loop.inFlightDeltas,
      inFlight: loop.inFlightDeltas,
      requestsInFlight: loop.inFlightRequests,
      overflow: { sums: overflow?.size ?? 0, deltas: overflow?.deltas ?? 0 },
      queuedBytes: store.bytes(),
      oldestQueuedAgeMs: oldest === undefined ? 0 : at - oldest,
      pausedUntil: pauses.meterUntil > at ? pauses.meterUntil : null,
      pausedCustomers: pauses.pausedCustomers(at),
      closed: this.lifecycle.closed,
    };
  }

  /** Closes what the Meter owns at the end of `close()`: its own client's sockets (abandoning what a timed-out close left in flight), the store. */
  private async release(): Promise<void> {
    const { builtIn, ownClient, store, events } = this.parts;
    if (ownClient) builtIn?.close();
    try {
      await store.close?.();
    } catch (err) {
      events.logger.error({ err }, 'pacspace-metering: closing the store failed');
    }
  }
}
