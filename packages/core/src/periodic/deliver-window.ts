import { retryDelay } from '../delivery/backoff.js';
import type { FrozenBatch, DeliveryMode } from '../delivery/batch.js';
import type { BatchSender } from '../delivery/batch-sender.js';
import type { ItemOutcome } from '../delivery/batch-result.js';
import type { BatchVerdict } from '../delivery/batch-verdict.js';
import { classifyError } from '../delivery/classify.js';
import { MeteringError } from '../errors.js';
import { sleep, type RetryPolicy } from '../delivery/retry.js';
import { batchKey } from './keys.js';
import { chunk } from './snapshots.js';
import type { FailedItem, FrozenItem } from './state-store.js';

/**
 * What delivering a window needs: the Meter's own {@link BatchSender} (so a window's requests,
 * deadlines and verdicts are the request deltas' ones), the window's key parts, the retry policy.
 *
 * @example
 * const context: WindowDeliveryContext = { sender, mode: 'batch', scope, name, maxBatchSize: 100, policy, random: Math.random, keepAlive: true, signal, beginRound: save, onRetry: log };
 */
export interface WindowDeliveryContext {
  sender: BatchSender;
  /** `batch`: chunks through the batch endpoint; `single`: item by item (a client without `emitBatch`). */
  mode: DeliveryMode;
  scope: string;
  name: string;
  maxBatchSize: number;
  policy: RetryPolicy;
  random: () => number;
  keepAlive: boolean;
  signal: AbortSignal;
  /** Persists the new key round before any request of it is sent. */
  beginRound(round: number): Promise<void>;
  onRetry(event: { attempt: number; delayMs: number; error: Error; key: string }): void;
}

/**
 * The window's delivery state, owned by the caller: `round` and `failures` carry over between calls within a run.
 *
 * @example
 * const window: WindowInDelivery = { windowKey: '20250301T130000Z.3600s', items, round: 0, failures: 0, requests: 0, rounds: 0 };
 */
export interface WindowInDelivery {
  windowKey: string;
  items: FrozenItem[];
  round: number;
  /** Failed attempts in this run so far (the per-run budget is `policy.maxAttempts`). */
  failures: number;
  /** HTTP requests sent in this run. */
  requests: number;
  /** Key rounds used in this run. */
  rounds: number;
}

/**
 * How a call to {@link deliverWindow} ended.
 *
 * @example
 * const result: WindowDeliveryResult = await deliverWindow(context, window);
 * if (result.kind === 'failed') report(result.items);
 */
export type WindowDeliveryResult =
  | { kind: 'delivered'; delivered: number; replayed: number }
  | { kind: 'retry'; error: Error; delayMs: number }
  | { kind: 'failed'; error: MeteringError; items: FailedItem[] }
  | { kind: 'stopped' };

/** A window's item with its frozen body, as the sender takes members. */
interface WindowMember {
  readonly body: string;
  readonly item: FrozenItem;
}

/** A chunk of a window, frozen: the sender's batch plus the items it carries. */
interface WindowBatch extends FrozenBatch {
  readonly members: readonly WindowMember[];
  /** True for a half of a larger batch (split to find the item at fault). */
  readonly split: boolean;
}

/**
 * Delivers a frozen window through the same sender and verdicts as request deltas: its items,
 * sorted, are cut into chunks ({@link chunk}), each a frozen batch keyed by the window
 * ({@link batchKey}; item by item under its referenceId for a client without `emitBatch`), sent one
 * at a time, in order. What the verdict says:
 * - `retry` (network, deadline, 408/429/5xx, 202 in progress): the same key and body after a backoff.
 * - `halve` (413, a batch-level 400/422, a 401/403 that is not about the key): the chunk is split in
 *   two under derived keys (`…r0.2of3.1of2`), to find the item at fault; an item refused alone
 *   fails the window, listed. A 409 never halves a window: its key was used with another body, so
 *   the snapshots changed since they were first sent (`IDEMPOTENCY_CONFLICT`).
 * - `failed` or `unbatched`: the window fails for good.
 * - `answered`: per-item results by index; replays count as delivered; items refused for good fail
 *   the window (every one listed); items refused for now start the next key round (the old keys'
 *   stored answer would repeat the refusal), which sends every item again under new keys: those
 *   already recorded come back as replays, by referenceId.
 * When the run's attempt budget is spent it returns `retry`; the caller tries again later with the
 * same state, hence the same keys.
 *
 * @example
 * const result = await deliverWindow(context, { windowKey, items, round: 0, failures: 0, requests: 0, rounds: 0 });
 */
export async function deliverWindow(ctx: WindowDeliveryContext, window: WindowInDelivery): Promise<WindowDeliveryResult> {
  for (;;) {
    window.rounds++;
    const outcomes: ItemOutcome[] = [];
    for (const batch of windowBatches(ctx, window)) {
      const answered = await sendUntilAnswered(ctx, window, batch);
      if (!Array.isArray(answered)) return answered;
      outcomes.push(...answered);
    }
    const settled = settleRound(window, outcomes);
    if (settled.kind !== 'refused-for-now') return settled;
    // Items refused for now inside a 2xx answer: the old keys would replay that answer, so move on
    // to the next round of keys (persisted before anything is sent with them), after a backoff.
    window.round++;
    await ctx.beginRound(window.round);
    const wait = await backOff(ctx, window, settled.error, settled.retryAfterMs, `round ${window.round}`);
    if (wait) return wait;
  }
}

/** The window's chunks of this round, frozen: keyed by window, round and position (single mode: by referenceId). */
function windowBatches(ctx: WindowDeliveryContext, window: WindowInDelivery): WindowBatch[] {
  if (ctx.mode === 'single') return window.items.map((item) => freeze('single', item.referenceId, [item], false));
  const chunks = chunk(window.items, ctx.maxBatchSize);
  return chunks.map((items, index) => freeze('batch', batchKey({ scope: ctx.scope, name: ctx.name, windowKey: window.windowKey, round: window.round, index, count: chunks.length }), items, false));
}

/** The body is what `JSON.stringify({ deltas: items })` gives, byte for byte, so a resend after an upgrade replays. */
function freeze(mode: DeliveryMode, key: string, items: readonly FrozenItem[], split: boolean): WindowBatch {
  const members = items.map((item) => ({ body: JSON.stringify(item), item }));
  const body = mode === 'single' ? members[0]!.body : `{"deltas":[${members.map((m) => m.body).join(',')}]}`;
  return { mode, key, body, members, split };
}

/**
 * Sends one frozen batch until PacSpace answers it item by item; a `halve` verdict sends both
 * halves the same way. Resolves with the items' outcomes in order, or how the window's delivery ends.
 */
async function sendUntilAnswered(ctx: WindowDeliveryContext, window: WindowInDelivery, batch: WindowBatch): Promise<ItemOutcome[] | WindowDeliveryResult> {
  for (;;) {
    if (ctx.signal.aborted) return { kind: 'stopped' };
    window.requests++;
    const verdict = await ctx.sender.send(batch);
    if (verdict.kind === 'answered') return verdict.items;
    if (verdict.kind === 'retry') {
      const wait = await backOff(ctx, window, verdict.error, verdict.retryAfterMs, batch.key);
      if (wait) return wait;
      continue;
    }
    if (verdict.kind === 'halve' && classifyError(verdict.error).kind !== 'integrity') return sendHalves(ctx, window, batch);
    return refused(batch, verdict);
  }
}

/** Splits a batch of two or more items in two under keys derived from its own, and sends each. */
async function sendHalves(ctx: WindowDeliveryContext, window: WindowInDelivery, batch: WindowBatch): Promise<ItemOutcome[] | WindowDeliveryResult> {
  const items = batch.members.map((m) => m.item);
  const middle = Math.ceil(items.length / 2);
  const outcomes: ItemOutcome[] = [];
  for (const [index, part] of [items.slice(0, middle), items.slice(middle)].entries()) {
    const answered = await sendUntilAnswered(ctx, window, freeze('batch', `${batch.key}.${index + 1}of2`, part, true));
    if (!Array.isArray(answered)) return answered;
    outcomes.push(...answered);
  }
  return outcomes;
}

/**
 * A batch refused for good. One item split off a larger chunk is that item's refusal (listed with
 * the others when the round settles); otherwise the window fails with the request's error.
 */
function refused(batch: WindowBatch, verdict: Exclude<BatchVerdict, { kind: 'answered' | 'retry' }>): ItemOutcome[] | WindowDeliveryResult {
  const integrity = verdict.kind === 'failed' ? verdict.reason === 'integrity' : classifyError(verdict.error).kind === 'integrity';
  if (verdict.kind === 'failed' && verdict.reason === 'rejected' && batch.split && batch.members.length === 1) {
    const code = verdict.error instanceof MeteringError ? verdict.error.code : 'API_ERROR';
    return [{ kind: 'permanent', code, message: verdict.error.message, integrity: false }];
  }
  return { kind: 'failed', error: requestFailure(verdict.error, integrity, batch.key), items: [] };
}

type RoundSettlement = Exclude<WindowDeliveryResult, { kind: 'retry' | 'stopped' }> | { kind: 'refused-for-now'; error: MeteringError; retryAfterMs?: number };

/** Reads a round's item outcomes: every item delivered, some refused for good (the window fails), or some refused for now. */
function settleRound(window: WindowInDelivery, outcomes: ItemOutcome[]): RoundSettlement {
  const failedItems: FailedItem[] = [];
  let transient: (ItemOutcome & { kind: 'transient' }) | undefined;
  let delivered = 0;
  let replayed = 0;
  outcomes.forEach((outcome, i) => {
    const item = window.items[i]!;
    if (outcome.kind === 'delivered') {
      delivered++;
      if (outcome.replayed) replayed++;
    } else if (outcome.kind === 'permanent') {
      failedItems.push({ referenceId: item.referenceId, customerId: item.customerId, delta: item.delta, reason: item.reason, code: outcome.code, message: outcome.message });
    } else if (!transient || (outcome.retryAfterMs ?? 0) > (transient.retryAfterMs ?? 0)) {
      transient = outcome;
    }
  });
  if (failedItems.length > 0) {
    const integrity = failedItems.some((f) => f.code === 'IDEMPOTENCY_CONFLICT' || f.code === 'CONFLICT');
    const code = integrity ? 'IDEMPOTENCY_CONFLICT' : 'ITEMS_REJECTED';
    const list = failedItems.slice(0, 5).map((f) => `${f.referenceId} (${f.code})`).join(', ');
    return {
      kind: 'failed',
      error: new MeteringError(code, `PacSpace refused ${failedItems.length} item(s) of window ${window.windowKey} for good: ${list}${failedItems.length > 5 ? ', ...' : ''}`),
      items: failedItems,
    };
  }
  if (!transient) return { kind: 'delivered', delivered, replayed };
  const error = new MeteringError(transient.code, `PacSpace refused item(s) of window ${window.windowKey} for now (${transient.code}): ${transient.message}`);
  return { kind: 'refused-for-now', error, retryAfterMs: transient.retryAfterMs };
}

/** Counts a failed attempt; waits, or says to give up for this run (`retry`) or that the meter stopped. */
async function backOff(ctx: WindowDeliveryContext, window: WindowInDelivery, error: Error, hintMs: number | undefined, key: string): Promise<WindowDeliveryResult | undefined> {
  window.failures++;
  const delayMs = retryDelay(window.failures, ctx.policy, ctx.random, hintMs);
  if (window.failures >= ctx.policy.maxAttempts) return { kind: 'retry', error, delayMs };
  ctx.onRetry({ attempt: window.failures, delayMs, error, key });
  await sleep(delayMs, { keepAlive: ctx.keepAlive, signal: ctx.signal });
  return ctx.signal.aborted ? { kind: 'stopped' } : undefined;
}

function requestFailure(error: Error, integrity: boolean, key: string): MeteringError {
  if (integrity) {
    return new MeteringError(
      'IDEMPOTENCY_CONFLICT',
      `PacSpace answered 409 for key ${key}: this key was used before with a different body, so the window's snapshots changed since they were first sent (state lost, or two processes collecting different data). Nothing was counted twice; see the README`,
      { cause: error },
    );
  }
  const code = error instanceof MeteringError ? error.code : 'API_ERROR';
  return new MeteringError(code, `PacSpace refused ${key} for good: ${error.message}`, { cause: error });
}
