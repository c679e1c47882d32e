import { retryDelay, type BackoffPolicy } from './backoff.js';
import { classifyError, type Verdict } from './classify.js';

/**
 * How a periodic job or a one-off call (checkpoint, derive) retries transient failures.
 *
 * @example
 * createPeriodicMeter({ ..., retry: { maxAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 600_000 } });
 */
export interface RetryOptions {
  /** Attempts per call (or per window and run) at most, the first included. Default: 8. */
  maxAttempts?: number;
  /** First backoff step. Default: 1000 ms. */
  baseDelayMs?: number;
  /** Largest backoff step. Default: 300000 ms (5 min). */
  maxDelayMs?: number;
  /** Largest server retry hint (`Retry-After`) honoured. Default: 3600000 ms (1 h). */
  maxRetryAfterMs?: number;
}

/**
 * {@link RetryOptions} with defaults applied.
 *
 * @example
 * const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 3 };
 */
export type RetryPolicy = Required<RetryOptions> & BackoffPolicy;

/**
 * Defaults of {@link RetryOptions}.
 *
 * @example
 * DEFAULT_RETRY.maxAttempts; // 8
 */
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = Object.freeze({ maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000, maxRetryAfterMs: 3_600_000 });

/**
 * Waits `ms`. The timer is unref'd unless `keepAlive` (a caller is awaiting the result), and an
 * aborted `signal` ends the wait at once. Never rejects.
 *
 * @example
 * await sleep(250, { keepAlive: true });
 */
export function sleep(ms: number, options: { keepAlive?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (!options.keepAlive) timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * What {@link callWithRetry} needs besides the call.
 *
 * @example
 * await callWithRetry(() => client.balance.derive('acme'), { policy: DEFAULT_RETRY, random: Math.random, keepAlive: true } satisfies CallRetryContext);
 */
export interface CallRetryContext {
  policy: RetryPolicy;
  random: () => number;
  /** Reads a resolved value: `delivered` ends the loop, `retry` (e.g. IDEMPOTENCY_PENDING) tries again. */
  interpret?: (value: unknown) => Verdict;
  keepAlive?: boolean;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number, error: Error) => void;
}

/**
 * Calls `fn` until it succeeds, fails permanently, or `policy.maxAttempts` run out; transient
 * failures (classified by {@link classifyError}) are retried with backoff, server hints as a
 * floor. Rejects with the permanent (or last) error. Used for checkpoints and derive, whose calls
 * are idempotent by key or are reads.
 *
 * @example
 * const { value, attempts } = await callWithRetry(() => client.balance.derive('acme', { period }), { policy, random: Math.random });
 */
export async function callWithRetry<T>(fn: () => Promise<T>, context: CallRetryContext): Promise<{ value: T; attempts: number }> {
  const { policy } = context;
  for (let attempt = 1; ; attempt++) {
    let verdict: Verdict;
    let value: T | undefined;
    try {
      value = await fn();
      verdict = context.interpret ? context.interpret(value) : { kind: 'delivered', receipt: {}, deduplicated: false };
    } catch (err) {
      verdict = classifyError(err);
    }
    if (verdict.kind === 'delivered') return { value: value as T, attempts: attempt };
    if (verdict.kind !== 'retry') throw verdict.error;
    if (attempt >= policy.maxAttempts || context.signal?.aborted) throw verdict.error;
    const delayMs = retryDelay(attempt, policy, context.random, verdict.retryAfterMs);
    context.onRetry?.(attempt, delayMs, verdict.error);
    await sleep(delayMs, { keepAlive: context.keepAlive, signal: context.signal });
  }
}

/**
 * Checks and completes {@link RetryOptions}; `problem(option, message)` reports a bad value.
 *
 * @example
 * resolveRetry({ maxAttempts: 0 }, fail); // calls fail('retry.maxAttempts', ...)
 */
export function resolveRetry(options: RetryOptions | undefined, problem: (option: string, message: string) => never, prefix = 'retry'): RetryPolicy {
  if (options !== undefined && (options === null || typeof options !== 'object')) problem(prefix, 'must be an object');
  const given = options ?? {};
  for (const key of Object.keys(given)) if (!(key in DEFAULT_RETRY)) problem(`${prefix}.${key}`, `is not an option; allowed: ${Object.keys(DEFAULT_RETRY).join(', ')}`);
  const int = (key: keyof RetryOptions, min: number): number => {
    const value = given[key] ?? DEFAULT_RETRY[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) problem(`${prefix}.${key}`, `must be an integer of at least ${min} (got ${JSON.stringify(given[key])})`);
    return value;
  };
  const policy = { maxAttempts: int('maxAttempts', 1), baseDelayMs: int('baseDelayMs', 1), maxDelayMs: int('maxDelayMs', 1), maxRetryAfterMs: int('maxRetryAfterMs', 0) };
  if (policy.maxDelayMs < policy.baseDelayMs) problem(`${prefix}.maxDelayMs`, 'must be at least retry.baseDelayMs');
  return policy;
}
