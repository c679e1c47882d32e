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
 * Where the Meter keeps accepted deltas until they are delivered. Synchronous on purpose: `enqueue`
 * must never wait for I/O, and embedded stores (SQLite) are synchronous too.
 */
export interface MeterStore {
  /** True when accepted deltas survive a crash or restart. */
  readonly durable: boolean;
  /** Adds an accepted delta. */
  add(item: QueuedDelta): void;
  /**
   * Leases up to `maxCount` deltas that are due at `now` and whose customer is not paused
   * (`pausedUntil(customerId)` returns the pause end, or 0), oldest first, stopping before their
   * bodies would exceed `maxBytes` (the first one is always taken). Leased deltas stay counted.
   */
  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[];
  /** How many deltas are due at `now` and not leased (paused customers' included): cheap, called on every delivery decision. */
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
  /** The earliest `dueAt` among deltas not leased, or undefined when there are none. */
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
  /** Optional: releases resources (files, handles) when the meter is closed. */
  close?(): void;
}
