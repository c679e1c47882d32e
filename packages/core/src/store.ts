import type { DeltaFields } from './validation.js';

/** One accepted delta with its frozen body and its delivery state. */
export interface QueuedDelta {
  /** Order of acceptance. Set by the meter; a store may replace it with its own id in `add()`. */
  seq: number;
  referenceId: string;
  customerId: string;
  /** The frozen fields, sent as they are on every attempt. */
  fields: Readonly<DeltaFields>;
  /** The JSON body, serialized once at acceptance. */
  body: string;
  /** UTF-8 size of `body`. */
  bytes: number;
  /** Epoch ms when the delta was accepted. */
  acceptedAt: number;
  /** Attempts made so far. */
  attempts: number;
  /** Epoch ms before which it must not be sent (0 = now). */
  dueAt: number;
}

/**
 * Where the Meter keeps accepted deltas until they are delivered. `add` and the settling calls
 * (`remove`, `release`, `deadLetter`) return at once: `enqueue` must never wait for I/O, so a
 * store on a remote database writes them behind (a bounded window it documents; its `add` answers
 * a promise of durability), while embedded stores (memory, SQLite) do them before returning. Only `leaseBatch` may be asynchronous: a shared outbox
 * leases rows from a database that other instances also write; the Meter then runs one lease at
 * a time and counts it against `concurrency`. `count`, `bytes`, `list` and `oldestAcceptedAt` are
 * this process's view (what it accepted and has not settled, and what it leased).
 *
 * @example
 * const meter = createMeter({ apiKey, store: new MemoryStore() });
 */
export interface MeterStore {
  /** True when accepted deltas survive a crash or restart. */
  readonly durable: boolean;
  /**
   * Adds an accepted delta; throws when it cannot take it (the Meter refuses it as `store_failed`).
   * A store that writes behind (a remote database) answers a Promise that resolves once the delta
   * is durable, and rejects when it could not be made so (the delta stays in memory and is still
   * delivered; the Meter reports it): the framework packages wait for it before the response's
   * bytes leave.
   */
  add(item: QueuedDelta): void | Promise<void>;
  /**
   * Leases up to `maxCount` deltas that are due at `now` and whose customer is not paused
   * (`pausedUntil(customerId)` returns the pause end, or 0), oldest first, stopping before their
   * bodies would exceed `maxBytes` (the first one is always taken). Leased deltas stay counted.
   * May answer a Promise (a database query); it must then never reject (answer `[]` and report).
   */
  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] | Promise<QueuedDelta[]>;
  /**
   * How many deltas are due at `now` and not leased (paused customers' included): cheap, called on
   * every delivery decision; a shared store may answer an estimate (from its last lease), but must
   * not keep answering more than 0 after a lease found none, until it knows of new ones.
   */
  dueCount(now: number): number;
  /** Removes a leased delta for good (delivered, or given up). */
  remove(item: QueuedDelta): void;
  /** Returns a leased delta to the queue, to be tried again at `item.dueAt` (`now` is the meter's clock). */
  release(item: QueuedDelta, now: number): void;
  /** Removes and returns every delta that is not leased (used when an in-memory meter gives up at shutdown). */
  takeWaiting(): QueuedDelta[];
  /** Deltas held, leased ones included. */
  count(): number;
  /** Bytes of the bodies held, leased ones included. */
  bytes(): number;
  /**
   * The earliest `dueAt` among deltas not leased, or undefined when there are none. A shared
   * store answers when it next wants to look for other instances' deltas (its poll).
   */
  nextDueAt(): number | undefined;
  /** Acceptance time of the oldest delta held, or undefined. */
  oldestAcceptedAt(): number | undefined;
  /** Every delta held, leased ones included (for reports; not on the hot path). */
  list(): QueuedDelta[];
  /**
   * Optional: keeps a leased delta the meter gave up on (refused for good, 409, out of attempts or
   * time) with its last error, instead of removing it. Without it, such deltas are removed.
   */
  deadLetter?(item: QueuedDelta, reason: string, error: Error): void;
  /** Optional: writes what is pending and releases resources (files, connections) when the meter is closed; `close()` waits for a Promise. */
  close?(): void | Promise<void>;
}
