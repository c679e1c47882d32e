import type { BalanceClient, DeriveScope } from '../client/client.js';
import { withDeadline } from '../delivery/deadline.js';
import type { MeterStore } from '../store/store.js';
import { UnsettledUsage, type DeliveredUsage, type UsageTap } from './unsettled-usage.js';

/**
 * What a balance gate needs from a Meter, and all it may use: the Meter's usage that PacSpace has
 * not counted yet, and reads through the Meter's own client (its key, its base URL). From
 * `meter.balanceSource()`; see `createBalanceGate`.
 *
 * @example
 * const source: MeterBalanceSource = meter.balanceSource!();
 * source.unsettled('acme'); // e.g. -3: three calls billed, not yet delivered
 */
export interface MeterBalanceSource {
  /**
   * Net of the deltas this Meter accepted for the customer since tracking started (the first
   * `balanceSource()` call; deltas a durable store held then are included) and has not settled:
   * queued, in a request under way, waiting to retry, folded into an overflow sum. 0 when none.
   */
  unsettled(customerId: string): number;
  /**
   * Calls `listener` synchronously for every tracked delta PacSpace takes, as it leaves
   * `unsettled` (so the two never both miss it). Returns a function that stops the calls.
   */
  onDelivered(listener: (usage: DeliveredUsage) => void): () => void;
  /** Reads a customer's balance with the Meter's client under an absolute deadline; undefined when the client has no `balance.derive`. */
  readonly derive: ((customerId: string, scope: DeriveScope, timeoutMs: number) => Promise<unknown>) | undefined;
  /** Reads one delta's status (`GET /api/v1/balance/delta/:recordId`, the SDK's `deltaStatus`); undefined when the client cannot. */
  readonly deltaStatus: ((recordId: string, timeoutMs: number) => Promise<unknown>) | undefined;
  /** True for a Meter created with `enabled: false`: nothing is sent, so there is no balance to read. */
  readonly dryRun: boolean;
  /** The Meter's `attemptTimeoutMs`: the deadline of each read. */
  readonly timeoutMs: number;
  /** The Meter's clock (its `now` option), which stamps `deliveredAt`. */
  now(): number;
}

/** What {@link createBalanceSource} needs from the Meter. */
export interface BalanceSourceContext {
  client: BalanceClient;
  tap: UsageTap;
  store: MeterStore;
  now: () => number;
  /** How long an accepted delta can stay unsettled (the Meter's retry window, plus margin). */
  maxAgeMs: number;
  dryRun: boolean;
  timeoutMs: number;
}

/**
 * Starts tracking (once per Meter) and answers the Meter's balance source. Deltas the store
 * already holds (a durable store's from an earlier run) are counted from the start.
 *
 * @example
 * const source = createBalanceSource({ client, tap, store, now: Date.now, maxAgeMs, dryRun: false, timeoutMs: 10_000 });
 */
export function createBalanceSource(ctx: BalanceSourceContext): MeterBalanceSource {
  const { client, tap, now } = ctx;
  let tracker = tap.tracker;
  if (!tracker) {
    tracker = tap.tracker = new UnsettledUsage(ctx.maxAgeMs);
    for (const item of ctx.store.list()) tracker.add(item.referenceId, item.customerId, item.fields.delta, item.acceptedAt);
  }
  const usage = tracker;
  const balance = client.balance as BalanceClient['balance'] & {
    getDelta?: (recordId: string) => Promise<unknown>;
    deltaStatus?: (recordId: string) => Promise<unknown>;
  };
  const derive = balance.derive;
  const status = balance.getDelta ?? balance.deltaStatus;
  return {
    unsettled: (customerId) => usage.unsettled(customerId, now()),
    onDelivered: (listener) => usage.onDelivered(listener),
    derive:
      typeof derive === 'function'
        ? (customerId, scope, timeoutMs) => withDeadline(() => called(() => derive.call(balance, customerId, { ...scope })), timeoutMs, '/api/v1/balance/derive')
        : undefined,
    deltaStatus: typeof status === 'function' ? (recordId, timeoutMs) => withDeadline(() => called(() => status.call(balance, recordId)), timeoutMs, '/api/v1/balance/delta') : undefined,
    dryRun: ctx.dryRun,
    timeoutMs: ctx.timeoutMs,
    now,
  };
}

/** The call's promise; a client that throws instead of rejecting rejects all the same. */
function called(call: () => Promise<unknown>): Promise<unknown> {
  return new Promise((resolve) => resolve(call()));
}
