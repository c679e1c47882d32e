import { retryDelay } from '../backoff.js';
import { classifyError, classifyResult } from '../classify.js';
import type { BalanceClient } from '../client.js';
import { MeteringError } from '../errors.js';
import { mapBatchAnswer, type ChunkAnswer, type ItemOutcome } from '../batch-result.js';
import { batchKey } from './keys.js';
import { sleep, withDeadline, type RetryPolicy } from '../retry.js';
import { chunk } from './snapshots.js';
import type { FailedItem, FrozenItem } from './state-store.js';

/**
 * What delivering a window needs.
 *
 * @example
 * const context: DeliveryContext = { client, scope, name, maxBatchSize: 100, attemptTimeoutMs: 30_000, policy, random: Math.random, keepAlive: true, signal, beginRound: save, onRetry: log };
 */
export interface DeliveryContext {
  client: BalanceClient;
  scope: string;
  name: string;
  maxBatchSize: number;
  attemptTimeoutMs: number;
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
 * const outcome: DeliveryOutcome = await deliverWindow(context, window);
 * if (outcome.kind === 'failed') report(outcome.items);
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; delivered: number; replayed: number }
  | { kind: 'retry'; error: Error; delayMs: number }
  | { kind: 'failed'; error: MeteringError; items: FailedItem[] }
  | { kind: 'stopped' };

const BATCH_PATH = '/api/v1/balance/delta/batch';

/**
 * Delivers a frozen window: its items sorted and chunked ({@link chunk}), each chunk sent with
 * `balance.emitBatch(items, { idempotencyKey: batchKey(...) })` (or, for a client without
 * `emitBatch`, item by item with `balance.emit` and the item's referenceId as key), one chunk at a
 * time, in order. A transient failure (network, deadline, 408/429/5xx, 202 pending) is retried
 * with the same key and body after a backoff; a permanent one (4xx) or a 409 fails the window.
 * Per-item results are mapped back by index: replays count as delivered; items refused for good
 * fail the window (with every such item listed); items refused for now (CADENCE_LIMIT, ...) start
 * the next key round (the stored answer of the old key would repeat the failure), which sends all
 * items again under new keys: the ones already recorded come back as replays, by referenceId.
 * When the run's attempt budget is spent it returns `retry`; the caller tries again later with
 * the same state, hence the same keys.
 *
 * @example
 * const outcome = await deliverWindow(context, { windowKey, items, round: 0, failures: 0, requests: 0, rounds: 0 });
 */
export async function deliverWindow(ctx: DeliveryContext, window: WindowInDelivery): Promise<DeliveryOutcome> {
  const batched = typeof ctx.client.balance.emitBatch === 'function';
  for (;;) {
    window.rounds++;
    const chunks = batched ? chunk(window.items, ctx.maxBatchSize) : window.items.map((item) => [item]);
    const outcomes: ItemOutcome[] = [];
    for (let index = 0; index < chunks.length; index++) {
      const items = chunks[index]!;
      const key = batched ? batchKey({ scope: ctx.scope, name: ctx.name, windowKey: window.windowKey, round: window.round, index, count: chunks.length }) : items[0]!.referenceId;
      for (;;) {
        if (ctx.signal.aborted) return { kind: 'stopped' };
        let answer: ChunkAnswer | undefined;
        let error: Error;
        let retryAfterMs: number | undefined;
        window.requests++;
        try {
          answer = batched ? mapBatchAnswer(await withDeadline(ctx.client.balance.emitBatch!(items, { idempotencyKey: key }), ctx.attemptTimeoutMs, BATCH_PATH), items.length) : await emitOne(ctx, items[0]!);
        } catch (err) {
          const verdict = classifyError(err);
          if (verdict.kind === 'permanent' || verdict.kind === 'integrity') return { kind: 'failed', error: requestFailure(verdict.error, verdict.kind === 'integrity', key), items: [] };
          if (verdict.kind === 'delivered') throw new Error('unreachable: classifyError never answers delivered');
          error = verdict.error;
          retryAfterMs = verdict.retryAfterMs;
        }
        if (answer?.kind === 'answered') {
          outcomes.push(...answer.outcomes);
          break;
        }
        if (answer?.kind === 'pending') {
          error = new MeteringError('IDEMPOTENCY_PENDING', `PacSpace is still processing an earlier attempt with key ${key}`);
          retryAfterMs = answer.retryAfterMs;
        }
        const wait = await backOff(ctx, window, error!, retryAfterMs, key);
        if (wait) return wait;
      }
    }

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
      // Items refused for now inside a 2xx answer: the old keys would replay that answer, so move on
    // to the next round of keys (persisted before anything is sent with them), after a backoff.
    const error = new MeteringError(transient.code, `PacSpace refused item(s) of window ${window.windowKey} for now (${transient.code}): ${transient.message}`);
    window.round++;
    await ctx.beginRound(window.round);
    const wait = await backOff(ctx, window, error, transient.retryAfterMs, `round ${window.round}`);
    if (wait) return wait;
  }
}

/** Counts a failed attempt; waits, or says to give up for this run (`retry`) or that the meter stopped. */
async function backOff(ctx: DeliveryContext, window: WindowInDelivery, error: Error, hintMs: number | undefined, key: string): Promise<DeliveryOutcome | undefined> {
  window.failures++;
  const delayMs = retryDelay(window.failures, ctx.policy, ctx.random, hintMs);
  if (window.failures >= ctx.policy.maxAttempts) return { kind: 'retry', error, delayMs };
  ctx.onRetry({ attempt: window.failures, delayMs, error, key });
  await sleep(delayMs, { keepAlive: ctx.keepAlive, signal: ctx.signal });
  return ctx.signal.aborted ? { kind: 'stopped' } : undefined;
}

/** For a client without `emitBatch`: one `balance.emit`, keyed by the item's referenceId, read as a one-item batch answer. */
async function emitOne(ctx: DeliveryContext, item: FrozenItem): Promise<ChunkAnswer> {
  const result = await withDeadline(
    ctx.client.balance.emit(item.customerId, item.delta, item.reason, { referenceId: item.referenceId, idempotencyKey: item.referenceId, metadata: item.metadata }),
    ctx.attemptTimeoutMs,
    '/api/v1/balance/delta',
  );
  const verdict = classifyResult(result);
  if (verdict.kind === 'retry') return { kind: 'pending', retryAfterMs: verdict.retryAfterMs };
  return { kind: 'answered', outcomes: [{ kind: 'delivered', replayed: verdict.kind === 'delivered' && verdict.deduplicated, receipt: verdict.kind === 'delivered' ? verdict.receipt : {} }] };
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
