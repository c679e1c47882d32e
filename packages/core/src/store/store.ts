import type { DeltaFields } from '../intake/validation.js';

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
  /**
   * Set on deltas from `meter.prepare()` only: the Meter that froze it, so that code writing it to
   * a durable store without the Meter (the Postgres store's `insertPrepared`) tags the row with it.
   */
  owner?: StoreIdentity;
}

/**
 * Who a Meter is, as far as its store needs to know: a durable store tags every row it writes with
 * both, and hands a row only to a Meter with the same two, so that one service's usage is never
 * delivered with another's key, into another account.
 *
 * @example
 * const identity: StoreIdentity = { scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60' };
 */
export interface StoreIdentity {
  /** The Meter's `scope`. */
  readonly scope: string;
  /**
   * The PacSpace account the Meter bills into: its `account` option, else `key:` and 16 hex digits
   * of the SHA-256 of its API key (never the key), `dry-run` (`enabled: false`), or `sdk-client`
   * (an SDK-shaped client, whose key the Meter cannot see).
   */
  readonly account: string;
}

/**
 * What a Meter tells its store when it is created ({@link MeterStore.attach}): who it is, and how
 * much it may hold in memory.
 *
 * @example
 * store.attach?.({ scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60', maxCount: 10_000, maxBytes: 16 * 1024 * 1024 });
 */
export interface StoreAttachment extends StoreIdentity {
  /** Deltas the Meter holds in memory at most (`maxQueueSize`). */
  readonly maxCount: number;
  /** Bytes of their bodies at most (`maxQueueBytes`). */
  readonly maxBytes: number;
}

/**
 * Where the Meter keeps accepted deltas until they are delivered. `add` and the settling calls
 * (`remove`, `release`, `deadLetter`) return at once: `enqueue` must never wait for I/O, so a
 * store on a remote database writes them behind (a bounded window it documents; its `add` answers
 * a promise of durability), while embedded stores (memory, SQLite) do them before returning. Only
 * `leaseBatch` and `refreshBacklog` may be asynchronous: a shared outbox leases rows from a
 * database that other instances also write; the Meter then runs one lease at a time and counts it
 * against `concurrency`. `count`, `bytes`, `list` and `oldestAcceptedAt` are this process's view
 * of memory (what it accepted and has not settled, and what it leased); `backlog` what a durable
 * store keeps beyond it.
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
  /**
   * Optional: called once, when the Meter is created, with who it is and its memory bounds. A
   * durable store tags what it writes with the identity, serves only rows with the same one (and
   * reports others it holds), and loads at most `maxCount` deltas (`maxBytes` bytes) into memory.
   * Throws when the store already serves another Meter.
   */
  attach?(meter: StoreAttachment): void;
  /**
   * Optional, with `attach`: the store is the queue, memory a window onto it. `add` then takes a
   * delta even when the window is full, keeps it only in the store (durably before it answers,
   * like any delta) and loads it when there is room, so the Meter never folds deltas into
   * overflow sums. `backlog()` answers how many deltas the store holds for this Meter beyond what
   * is in memory (a shared store: an estimate, as of its last look at the table). A delta that
   * could be made neither durable nor held in memory is refused by `add`'s promise with an error
   * whose `notHeld` is true: the Meter counts it as dropped (`store_failed`).
   */
  backlog?(): number;
  /**
   * Optional: looks at what the store holds for this Meter beyond memory (a shared store queries
   * its table), so that a `flush()` or `close()` waits for it too, and the next lease fetches it
   * at once. Called when a flush or close starts. Never rejects.
   */
  refreshBacklog?(): Promise<void>;
}
