import { DeltaValidationError, MeteringConfigError, assertDelta, assertReason, definedOptions, describeOptionValue as kind, headerNameOption as headerOption, optionalFunctionOption, type Meter, type NothingToBill, type UsageDelta } from '@pacspace-metering/core';
import type { Request, Response } from 'express';

/**
 * Options of {@link meterRequests}. Only `customerId` is required.
 *
 * Every resolver runs when the response has **finished** with a success status (not when the
 * request arrives), so it can read what an auth middleware or the handler set on `req`/`res`.
 * A resolver that throws, or returns a value PacSpace would reject, never changes the response:
 * the delta is refused by the meter and reported through its `onDrop`/`onError` hooks and
 * `meter.stats().dropped.invalid`.
 *
 * Resolvers get the handler's result as a third argument: what it returned through
 * `meteredRoute()`, or handed over with `recordResult(res, result)` (`undefined` when it did
 * neither). Any resolver may answer `NOTHING_TO_BILL` (a cache hit, an empty result): the request
 * is not billed and not dropped (counted in `stats().skipped`); so does a delta of exactly 0.
 *
 * @typeParam Req - your request type, e.g. `Request & { user?: { accountId: string } }`.
 * @typeParam Res - your response type.
 * @typeParam Result - the handler's result the resolvers read (see `meteredRoute`, which infers it).
 *
 * @example
 * const options: MeterRequestsOptions<Request & { user?: { accountId: string } }> = {
 *   customerId: (req) => req.user?.accountId,
 *   reason: 'report_generated',
 *   delta: -5,
 * };
 */
export interface MeterRequestsOptions<Req extends Request = Request, Res extends Response = Response, Result = unknown> {
  /**
   * Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`, or a safe integer (billed as its decimal
   * string, as `@pacspace-metering/nestjs` does). Required. Called when the response has finished
   * successfully. Returning nothing refuses the delta (counted and reported); `NOTHING_TO_BILL`
   * skips it.
   *
   * @example (req) => req.user?.accountId
   */
  customerId: (req: Req, res: Res, result: Result) => string | number | null | undefined | NothingToBill;
  /**
   * Balance change per successful request: a finite, non-zero number within ±1e9 (negative
   * consumes), or a function of the finished request, response and handler result (0 or
   * `NOTHING_TO_BILL` from it: nothing to bill).
   *
   * @default -1
   */
  delta?: number | ((req: Req, res: Res, result: Result) => number | NothingToBill) | undefined;
  /**
   * Several deltas per call, instead of `delta`/`reason`: `[{ reason, delta, metadata? }]` from
   * the finished request, response and handler result, each billed once under its own
   * referenceId (`{scope}:{reason}:{customerId}:{requestId}`); a reason given twice refuses the
   * list, naming `deltas[i].reason`. A delta of 0 or `NOTHING_TO_BILL` (or the whole answer
   * `NOTHING_TO_BILL`) bills nothing for it.
   *
   * @default none (one delta: `delta` for `reason`)
   * @example (req, res, result) => [{ reason: 'input_tokens', delta: -result.usage.input }, { reason: 'output_tokens', delta: -result.usage.output }]
   */
  deltas?: ((req: Req, res: Res, result: Result) => readonly UsageDelta[] | NothingToBill) | undefined;
  /**
   * Why: 1-500 characters, or a function of the finished request and response. Also the
   * operation segment of the referenceId, so a request is billed at most once per reason.
   *
   * @default 'api_request'
   */
  reason?: string | ((req: Req, res: Res, result: Result) => string) | undefined;
  /**
   * Extra fields for the delta's metadata (a plain object of JSON values). Merged over the
   * library's own `route` (the route pattern, e.g. `/v1/reports/:id`, never the raw URL; absent
   * when no route matched) and `method`; your keys win.
   *
   * @default none (only `route` and `method`)
   */
  metadata?: ((req: Req, res: Res, result: Result) => Record<string, unknown> | undefined) | undefined;
  /**
   * Decides whether a finished response is billed.
   *
   * @default (req, res) => res.statusCode < 400
   */
  isSuccess?: ((req: Req, res: Res) => boolean) | undefined;
  /**
   * Return true to leave a request unmetered (health checks, `HEAD`, ...). Called on entry.
   *
   * @default none: every request is considered (`OPTIONS` aside, see `meterOptionsRequests`)
   */
  skip?: ((req: Req) => boolean) | undefined;
  /**
   * Bill `OPTIONS` requests, for an API whose `OPTIONS` handlers do work it charges for. A CORS
   * preflight (`OPTIONS` with `Access-Control-Request-Method`) is never billed, even then: the
   * browser sends it on its own before the real call, which is billed. Off, no `OPTIONS` request
   * is billed.
   *
   * @default false
   */
  meterOptionsRequests?: boolean | undefined;
  /**
   * Your own id for the request, tried first and used as it is. Values that are not 1-128
   * characters of `[A-Za-z0-9_.:-]` are ignored (then `req.id` when trusted, then
   * `requestIdHeader`, then a fresh UUID). A resolver that throws or returns a Promise refuses the
   * request's delta (counted and reported, field `requestId`) rather than bill it under a random
   * id your resolver did not choose.
   *
   * @default none
   */
  requestId?: ((req: Req) => string | number | null | undefined) | undefined;
  /**
   * Bill under `req.id` set by an upstream middleware (pino-http, a request-id middleware). Off by
   * default: pino-http's usual `genReqId` copies the client's `X-Request-Id`, so a client that
   * repeats one id would have all those calls billed as one. An id trusted this way is bound to
   * the call (method and URL), as a trusted header is. Without it, `req.id` can still go into the
   * metadata for correlation: `metadata: (req) => ({ upstreamId: req.id })`.
   *
   * @default false
   */
  trustUpstreamId?: boolean | undefined;
  /**
   * A request header whose value is trusted as the request id, e.g. `'x-request-id'`. Off by
   * default, because the client controls it: a client that sends the same id on every call would
   * otherwise have all those calls billed as one. Turn it on only when a gateway you control sets
   * it (and strips the client's own). The id is bound to the call: `{id}.{16 hex of
   * sha256(method + ' ' + URL)}`, so a retry of the same call is billed once, and the same id on
   * another URL is another call, never a 409.
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
}

/**
 * Every option name of {@link MeterRequestsOptions}. `meterRequests()` rejects any other name, so
 * option typos in JavaScript are caught at start-up.
 *
 * @example
 * MIDDLEWARE_OPTION_NAMES.includes('reason'); // true
 */
export const MIDDLEWARE_OPTION_NAMES: ReadonlyArray<keyof MeterRequestsOptions> = Object.freeze([
  'customerId', 'delta', 'reason', 'deltas', 'metadata', 'isSuccess', 'skip', 'meterOptionsRequests', 'requestId', 'trustUpstreamId', 'requestIdHeader', 'responseHeader',
] satisfies Array<keyof MeterRequestsOptions>);

type Resolver<T> = (req: Request, res: Response, result?: unknown) => T;

/** The checked, internal form of the options: defaults applied, read once per middleware. */
export interface MiddlewareConfig {
  customerId: Resolver<unknown>;
  /** A number, or the resolver. */
  delta: number | Resolver<unknown>;
  /** A string, or the resolver. */
  reason: string | Resolver<unknown>;
  /** The several-deltas resolver, or undefined for one delta. */
  deltas: Resolver<unknown> | undefined;
  metadata: Resolver<unknown> | undefined;
  isSuccess: Resolver<unknown> | undefined;
  skip: ((req: Request) => unknown) | undefined;
  meterOptionsRequests: boolean;
  requestId: ((req: Request) => unknown) | undefined;
  trustUpstreamId: boolean;
  /** Lower-cased header name, or undefined when no header is trusted. */
  requestIdHeader: string | undefined;
  /** Header name, or undefined when the id is not echoed. */
  responseHeader: string | undefined;
}

/**
 * Checks `meter` and `options`, applies defaults, and returns the internal configuration. Throws
 * {@link MeteringConfigError} naming the first bad option. Never mutates `options`.
 */
export function resolveMiddlewareConfig(meter: unknown, options: unknown): MiddlewareConfig {
  assertMeter(meter);
  const given = definedOptions(options, MIDDLEWARE_OPTION_NAMES, '{ customerId: (req) => req.user.accountId }');

  if (typeof given.customerId !== 'function') {
    throw new MeteringConfigError('customerId', `is required: a function (req, res) => string that names who pays (got ${kind(given.customerId)})`);
  }
  if (given.deltas !== undefined && (given.delta !== undefined || given.reason !== undefined)) {
    throw new MeteringConfigError('deltas', `cannot be combined with ${given.delta !== undefined ? 'delta' : 'reason'}: give each delta its reason in the list`);
  }
  return {
    deltas: optionalFunction(given, 'deltas') as Resolver<unknown> | undefined,
    customerId: given.customerId as Resolver<unknown>,
    delta: deltaOption(given.delta),
    reason: reasonOption(given.reason),
    metadata: optionalFunction(given, 'metadata') as Resolver<unknown> | undefined,
    isSuccess: optionalFunction(given, 'isSuccess') as Resolver<unknown> | undefined,
    skip: optionalFunction(given, 'skip') as MiddlewareConfig['skip'],
    meterOptionsRequests: booleanOption(given, 'meterOptionsRequests'),
    requestId: optionalFunction(given, 'requestId') as MiddlewareConfig['requestId'],
    trustUpstreamId: booleanOption(given, 'trustUpstreamId'),
    requestIdHeader: headerOption(given.requestIdHeader, 'requestIdHeader', false)?.toLowerCase(),
    responseHeader: headerOption(given.responseHeader, 'responseHeader', false),
  };
}

/** Throws {@link MeteringConfigError} naming `meter` unless it looks like a Meter from `createMeter()`. */
export function assertMeter(meter: unknown): asserts meter is Meter {
  const m = meter as Partial<Meter> | null | undefined;
  if (m === null || typeof m !== 'object' || typeof m.enqueue !== 'function' || typeof m.emit !== 'function' || typeof m.scope !== 'string') {
    throw new MeteringConfigError('meter', `must be a Meter from createMeter() (with scope, enqueue and emit) (got ${kind(meter)})`);
  }
}

function deltaOption(value: unknown): MiddlewareConfig['delta'] {
  if (value === undefined) return -1;
  if (typeof value === 'function') return value as Resolver<unknown>;
  try {
    assertDelta(value);
  } catch (err) {
    throw asConfigError('delta', err, 'or a function (req, res) => number');
  }
  return value;
}

function reasonOption(value: unknown): MiddlewareConfig['reason'] {
  if (value === undefined) return 'api_request';
  if (typeof value === 'function') return value as Resolver<unknown>;
  try {
    assertReason(value);
  } catch (err) {
    throw asConfigError('reason', err, 'or a function (req, res) => string');
  }
  return value;
}

function optionalFunction(given: Record<string, unknown>, name: keyof MeterRequestsOptions): unknown {
  return optionalFunctionOption(given, name);
}

function booleanOption(given: Record<string, unknown>, name: keyof MeterRequestsOptions): boolean {
  const value = given[name] ?? false;
  if (typeof value !== 'boolean') throw new MeteringConfigError(name, `must be true or false (got ${kind(value)})`);
  return value;
}

function asConfigError(option: string, err: unknown, alternative: string): MeteringConfigError {
  if (err instanceof DeltaValidationError) {
    // "delta: must be ..." -> "delta: must be ..., or a function ..."
    const detail = err.message.slice(err.field.length + 2);
    return new MeteringConfigError(option, `${detail}; ${alternative}`);
  }
  return new MeteringConfigError(option, String(err));
}
