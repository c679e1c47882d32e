import { DeltaValidationError, MeteringConfigError, assertDelta, assertReason, definedOptions, describeOptionValue as kind, headerNameOption as headerOption, optionalFunctionOption, type DrainReport, type Meter, type NothingToBill, type UsageDelta } from '@pacspace-metering/core';

/**
 * What both the Hono middleware and the fetch wrapper accept, for resolvers of the arguments
 * `Args` (`[c]` for Hono, `[request, response]` for a fetch handler) and an entry check of `Entry`.
 * Only `customerId` is required.
 *
 * Every resolver runs once the response counts as delivered (see the README: the body fully read
 * by the server, or, on Node, the response finished), not when the request arrives. A resolver
 * that throws, or returns a Promise, or a value PacSpace would reject, never changes the response:
 * the delta is refused by the meter and reported through `onDrop`/`onError` and
 * `meter.stats().dropped.invalid`.
 *
 * @example
 * const options: SharedOptions<[Request, Response], [Request]> = { customerId: (request) => request.headers.get('x-account') };
 */
export interface SharedOptions<Args extends unknown[], Entry extends unknown[]> {
  /**
   * Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`, or a safe integer (billed as its decimal
   * string). Required. Returning nothing refuses the delta (counted and reported);
   * `NOTHING_TO_BILL` skips it (counted in `stats().skipped`, never a drop).
   */
  customerId: (...args: Args) => string | number | null | undefined | NothingToBill;
  /**
   * Balance change per successful request: a finite, non-zero number within ±1e9 (negative
   * consumes), or a function (0 or `NOTHING_TO_BILL` from it: nothing to bill, never a drop).
   *
   * @default -1
   */
  delta?: number | ((...args: Args) => number | NothingToBill) | undefined;
  /**
   * Several deltas per call, instead of `delta`/`reason`: `[{ reason, delta, metadata? }]`, each
   * billed once under its own referenceId (`{scope}:{reason}:{customerId}:{requestId}`); a reason
   * given twice refuses the list, naming `deltas[i].reason`; 0 or `NOTHING_TO_BILL` bills nothing.
   *
   * @default none (one delta: `delta` for `reason`)
   */
  deltas?: ((...args: Args) => readonly UsageDelta[] | NothingToBill) | undefined;
  /**
   * Why: 1-500 characters, or a function. Also the operation segment of the referenceId, so a
   * request is billed at most once per reason.
   *
   * @default 'api_request'
   */
  reason?: string | ((...args: Args) => string) | undefined;
  /**
   * Extra metadata (a plain object of JSON values), merged over the library's own `method` (and,
   * in Hono, `route`: the matched route pattern, never the raw URL); your keys win.
   *
   * @default none
   */
  metadata?: ((...args: Args) => Record<string, unknown> | undefined) | undefined;
  /**
   * Decides whether a delivered response is billed.
   *
   * @default status < 400 (and, in Hono, no error was thrown)
   */
  isSuccess?: ((...args: Args) => boolean) | undefined;
  /**
   * Return true to leave a request unmetered (health checks, OPTIONS, ...). Called on entry.
   *
   * @default none: every request is considered
   */
  skip?: ((...args: Entry) => boolean) | undefined;
  /**
   * Your own id for the request, tried first and used as it is. Values that are not 1-128
   * characters of `[A-Za-z0-9_.:-]` are ignored (then the trusted header, then a fresh UUID). A
   * resolver that throws or returns a Promise refuses the request's delta (counted and reported,
   * field `requestId`) rather than bill it under a random id your resolver did not choose.
   *
   * @default none
   */
  requestId?: ((...args: Entry) => string | number | null | undefined) | undefined;
  /**
   * A request header whose value is trusted as the request id, e.g. `'x-request-id'`. Off by
   * default, because the client controls it: a client that sends the same id on every call would
   * have all those calls billed as one. Turn it on only when a gateway you control sets it. The id
   * is bound to the call: `{id}.{16 hex of sha256(method + ' ' + path and query)}`.
   *
   * @default false
   */
  requestIdHeader?: string | false | undefined;
  /**
   * Response header that echoes the request id the call is billed under, e.g. `'x-request-id'`,
   * or `false` for none.
   *
   * Off by default: a header costs every request (a quarter of the middleware's own instructions
   * on Node 26), and would replace an `x-request-id` the app sets itself.
   *
   * @default false
   */
  responseHeader?: string | false | undefined;
  /**
   * Where delivery is handed on runtimes that freeze after the response (Workers, edge
   * functions): after each request's outcome is known, `waitUntil(meter.flush(...))` keeps the
   * isolate alive until the queue is delivered or `flushTimeoutMs` passes. Default: the request's
   * own (Hono: `c.executionCtx.waitUntil`; fetch wrapper: an argument after the request that has a
   * `waitUntil` method, as a Worker's `ctx` does); none on Node, Bun and Deno servers, whose
   * process outlives the response. Pass one for platforms that export it, e.g. Vercel's
   * `waitUntil` from `@vercel/functions`.
   *
   * @default the request's execution context, when it has one
   */
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
  /**
   * How long each `waitUntil` flush may wait for delivery. Keep it under the platform's limit
   * (Cloudflare Workers: 30 s after the response).
   *
   * @default 20000
   */
  flushTimeoutMs?: number | undefined;
  /**
   * Called with the report of every `waitUntil` flush. Default: a warning (stderr, or the Worker's
   * log) when deltas were still pending as the flush ended: they stay queued in this isolate and
   * go with a later flush, but are lost if the isolate is evicted first.
   *
   * @default warn when `report.pending > 0`
   */
  onFlush?: ((report: DrainReport) => void) | undefined;
}

/** The names shared by every adapter of this package. */
export const SHARED_OPTION_NAMES = [
  'customerId', 'delta', 'reason', 'deltas', 'metadata', 'isSuccess', 'skip', 'requestId', 'requestIdHeader', 'responseHeader', 'waitUntil', 'flushTimeoutMs', 'onFlush',
] as const satisfies ReadonlyArray<keyof SharedOptions<never[], never[]>>;

type Fn = (...args: never[]) => unknown;

/** The checked, internal form of the options: defaults applied, read once per adapter. */
export interface AdapterConfig {
  customerId: Fn;
  /** A number, or the resolver. */
  delta: number | Fn;
  /** A string, or the resolver. */
  reason: string | Fn;
  /** The several-deltas resolver, or undefined for one delta. */
  deltas: Fn | undefined;
  metadata: Fn | undefined;
  isSuccess: Fn | undefined;
  skip: Fn | undefined;
  requestId: Fn | undefined;
  trustUpstreamId: boolean;
  /** Lower-cased header name, or undefined when no header is trusted. */
  requestIdHeader: string | undefined;
  /** Header name, or undefined when the id is not echoed. */
  responseHeader: string | undefined;
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  flushTimeoutMs: number;
  onFlush: ((report: DrainReport) => void) | undefined;
}

/**
 * Checks `meter` and `options` against `known` option names, applies defaults, and returns the
 * internal configuration. Throws {@link MeteringConfigError} naming the first bad option. Never
 * mutates `options`.
 */
export function resolveAdapterConfig(meter: unknown, options: unknown, known: readonly string[]): AdapterConfig {
  assertMeter(meter);
  const given = definedOptions(options, known, "{ customerId: (c) => c.get('accountId') }");
  if (typeof given.customerId !== 'function') {
    throw new MeteringConfigError('customerId', `is required: a function that names who pays (got ${kind(given.customerId)})`);
  }
  const trustUpstreamId = given.trustUpstreamId ?? false;
  if (typeof trustUpstreamId !== 'boolean') throw new MeteringConfigError('trustUpstreamId', `must be true or false (got ${kind(trustUpstreamId)})`);
  if (given.deltas !== undefined && (given.delta !== undefined || given.reason !== undefined)) {
    throw new MeteringConfigError('deltas', `cannot be combined with ${given.delta !== undefined ? 'delta' : 'reason'}: give each delta its reason in the list`);
  }
  return {
    deltas: optionalFunction(given, 'deltas'),
    customerId: given.customerId as Fn,
    delta: checkedOrFunction(given.delta, -1, 'delta', assertDelta),
    reason: checkedOrFunction(given.reason, 'api_request', 'reason', assertReason),
    metadata: optionalFunction(given, 'metadata'),
    isSuccess: optionalFunction(given, 'isSuccess'),
    skip: optionalFunction(given, 'skip'),
    requestId: optionalFunction(given, 'requestId'),
    trustUpstreamId,
    requestIdHeader: headerOption(given.requestIdHeader, 'requestIdHeader', false)?.toLowerCase(),
    responseHeader: headerOption(given.responseHeader, 'responseHeader', false),
    waitUntil: optionalFunction(given, 'waitUntil') as AdapterConfig['waitUntil'],
    flushTimeoutMs: flushTimeout(given.flushTimeoutMs),
    onFlush: optionalFunction(given, 'onFlush') as AdapterConfig['onFlush'],
  };
}

/** Throws {@link MeteringConfigError} naming `meter` unless it looks like a Meter from `createMeter()`. */
function assertMeter(meter: unknown): asserts meter is Meter {
  const m = meter as Partial<Meter> | null | undefined;
  if (m === null || typeof m !== 'object' || typeof m.enqueue !== 'function' || typeof m.flush !== 'function' || typeof m.scope !== 'string') {
    throw new MeteringConfigError('meter', `must be a Meter from createMeter() (with scope, enqueue and flush) (got ${kind(meter)})`);
  }
}

/** A fixed value checked now (`delta`, `reason`), its default, or a resolver checked per request by the meter. */
function checkedOrFunction<T extends number | string>(value: unknown, fallback: T, option: string, check: (value: unknown) => void): T | Fn {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return value as Fn;
  try {
    check(value);
  } catch (err) {
    // "delta: must be ..." -> "delta: must be ..., or a function"
    const detail = err instanceof DeltaValidationError ? err.message.slice(err.field.length + 2) : String(err);
    throw new MeteringConfigError(option, `${detail}; or a function that returns one`);
  }
  return value as T;
}

function optionalFunction(given: Record<string, unknown>, name: string): Fn | undefined {
  return optionalFunctionOption(given, name) as Fn | undefined;
}

function flushTimeout(value: unknown): number {
  if (value === undefined) return 20_000;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 600_000) {
    throw new MeteringConfigError('flushTimeoutMs', `must be an integer from 1 to 600000 (got ${kind(value)})`);
  }
  return value;
}
