import { AcceptedDelta } from './accepted-delta.js';
import { refuseDelta } from '../reporting/drop-report.js';
import type { MeterEvents } from '../reporting/meter-events.js';
import type { EnqueueResult } from '../meter-api.js';
import type { Counters } from '../reporting/stats.js';
import type { MeterStore, QueuedDelta } from '../store/store.js';
import type { DeltaFields } from './validation.js';

/**
 * Puts frozen deltas in the Meter's store, numbered in order of acceptance, and tells the delivery
 * loop (`accepted`) that there is work. Used by the intake for each delta and for overflow sums.
 *
 * @example
 * const writer = new QueueWriter(store, counters, events, Date.now, () => loop.accepted());
 * writer.add(fields, body, bytes);
 */
export class QueueWriter {
  private seq = 0;

  constructor(
    private readonly store: MeterStore,
    private readonly counters: Counters,
    private readonly events: MeterEvents,
    private readonly now: () => number,
    private readonly accepted: () => void,
  ) {}

  /**
   * Puts a frozen delta in the store: answers the refusal when the store would not take it,
   * `true` when it holds it (durably, with a durable store), or a promise of its durability from a
   * store that writes behind.
   */
  add(fields: DeltaFields, body: string, bytes: number): EnqueueResult | Promise<boolean> | true {
    // The body is the frozen payload; `fields` (without metadata) is what events report.
    const item: QueuedDelta = new AcceptedDelta(++this.seq, fields.referenceId, fields.customerId, fields.delta, fields.reason, body, bytes, this.now());
    let written: void | Promise<void>;
    try {
      written = this.store.add(item);
    } catch (err) {
      // A store that cannot take the delta (disk full, closed) must not break the caller either.
      return refuseDelta(this.counters, this.events, 'store_failed', err instanceof Error ? err : new Error(String(err)), fields, item.referenceId);
    }
    this.accepted();
    return written === undefined ? true : written.then(() => true, (err: unknown) => this.notDurable(item, err));
  }

  /**
   * A store that writes behind could not make a delta durable: it is still delivered from memory,
   * but a crash would lose it; or, beyond the memory window (`notHeld`), it is lost, and dropped.
   */
  private notDurable(item: QueuedDelta, err: unknown): false {
    const error = err instanceof Error ? err : new Error(String(err));
    if ((error as { notHeld?: boolean }).notHeld === true) {
      refuseDelta(this.counters, this.events, 'store_failed', error, item.fields, item.referenceId);
      return false;
    }
    this.events.logger.error({ referenceId: item.referenceId, customerId: item.customerId, err: error }, 'pacspace-metering: the store could not make a delta durable; it is delivered from memory, but a crash would lose it');
    this.events.error(error, { stage: 'intake', referenceId: item.referenceId, customerId: item.customerId });
    return false;
  }
}
