import { MeteringConfigError } from '../errors.js';
import type { Meter } from '../meter-api.js';

/**
 * What {@link withMeterFlush} reads from the handler's second argument: AWS Lambda's context has
 * `getRemainingTimeInMillis()`; anything else (no context, another platform's) is fine too, and
 * then `flushTimeoutMs` alone bounds the wait.
 *
 * @example
 * const context: InvocationContextLike = { getRemainingTimeInMillis: () => deadline - Date.now() };
 */
export interface InvocationContextLike {
  getRemainingTimeInMillis?: (() => number) | undefined;
}

/**
 * Options of {@link withMeterFlush}.
 *
 * @example
 * const options: WithMeterFlushOptions = { flushTimeoutMs: 2_000 };
 */
export interface WithMeterFlushOptions {
  /**
   * The longest the function waits, after the handler is done, for the Meter to deliver what it
   * holds; never more than the invocation's remaining time (`context.getRemainingTimeInMillis()`)
   * less {@link FLUSH_RESERVE_MS}, so waiting can never make the function time out. 1000 ms covers
   * a round trip to PacSpace and two quick retries after a transient error (the first retry waits
   * at most `retryBaseDelayMs`, 250 ms); in an outage every invocation pays the whole wait, so
   * keep it short: what is still undelivered is reported and stays queued for the next invocation.
   *
   * @default 1000
   */
  flushTimeoutMs?: number | undefined;
}

/**
 * Kept free at the end of an invocation for the function to return its result after the flush:
 * the wait is at most the remaining time less this (250 ms).
 *
 * @example
 * // 1,000 ms left in the invocation: the flush waits 750 ms at most.
 * Math.min(flushTimeoutMs, 1_000 - FLUSH_RESERVE_MS);
 */
export const FLUSH_RESERVE_MS = 250;

/**
 * Wraps a Lambda-style handler, `(event, context) => Promise<result>` (a `serverless-http`-wrapped
 * Express or Fastify app is one), so that it returns only after the Meter delivered what it holds,
 * or after a bounded wait: a platform may freeze the process as soon as the handler returns, and
 * the Meter's background delivery would then not run until a later invocation, if ever.
 *
 * After the handler resolves or throws, it calls `meter.flush({ timeoutMs, reportPending: true })`,
 * then returns the handler's result (or throws its error). `timeoutMs` is `flushTimeoutMs`
 * (default 1000), capped at the invocation's remaining time less {@link FLUSH_RESERVE_MS}. When
 * time runs out, nothing is dropped and nothing is silent: the Meter reports how many deltas (and
 * which referenceIds) are still undelivered, through its logger (on stderr by default) and
 * `onError` (a `MeteringError` with code `FLUSH_TIMEOUT`); they stay queued, and the next
 * invocation of the same instance sends them. They are lost if the instance is never invoked again
 * (reclaimed while frozen), killed or timed out first.
 *
 * @param meter - the Meter the app bills through (created once, outside the handler).
 * @param handler - the function to run per invocation.
 * @param options - see {@link WithMeterFlushOptions}.
 * @returns a handler with the same arguments and result.
 * @throws MeteringConfigError naming `meter`, `handler` or `flushTimeoutMs` when one is not usable.
 *
 * @example
 * import serverless from 'serverless-http';
 * import { withMeterFlush } from '@pacspace-metering/core/serverless';
 *
 * export const handler = withMeterFlush(meter, serverless(app));
 */
export function withMeterFlush<Event, Context, Result>(
  meter: Pick<Meter, 'flush'>,
  handler: (event: Event, context: Context) => Result | Promise<Result>,
  options: WithMeterFlushOptions = {},
): (event: Event, context: Context) => Promise<Result> {
  if (typeof (meter as Partial<Meter> | null)?.flush !== 'function') throw new MeteringConfigError('meter', 'must be a Meter from createMeter() (with flush)');
  if (typeof handler !== 'function') throw new MeteringConfigError('handler', 'must be a function (event, context) => Promise<result>');
  const limit = options?.flushTimeoutMs ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new MeteringConfigError('flushTimeoutMs', `must be a whole number of milliseconds, 0 or more (got ${String(limit)})`);

  return async function flushingHandler(event: Event, context: Context): Promise<Result> {
    try {
      return await handler(event, context);
    } finally {
      await meter.flush({ timeoutMs: flushBound(context, limit), reportPending: true });
    }
  };
}

/** `limit`, or less when the invocation has less time left (minus the reserve); never negative. */
function flushBound(context: unknown, limit: number): number {
  const remainingOf = (context as InvocationContextLike | null | undefined)?.getRemainingTimeInMillis;
  if (typeof remainingOf !== 'function') return limit;
  const remaining = Number(remainingOf.call(context));
  return Number.isFinite(remaining) ? Math.max(0, Math.min(limit, Math.floor(remaining) - FLUSH_RESERVE_MS)) : limit;
}
