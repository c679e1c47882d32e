import type { ExecutionContext } from '@nestjs/common';
import type { NothingToBill } from '@pacspace-metering/core';

/**
 * Who pays for a call: returns the customerId (1-128 characters of `[A-Za-z0-9_.:-]`; a safe
 * integer is turned into its decimal string, as `@pacspace-metering/express` does). `req` is the
 * framework's request: Express's `req`, or Fastify's `request` (not `request.raw`). For non-HTTP
 * handlers (microservices) it is the handler's first argument, the message payload. Runs once,
 * after the response finished with a success status. Returning nothing, throwing or returning a
 * Promise refuses the delta: it is counted in `meter.stats().dropped.invalid` and passed to
 * `onDrop`/`onError`; the response is never affected. Returning `NOTHING_TO_BILL` (from core)
 * bills nothing for this call: counted in `stats().skipped.nothing_to_bill`, never a drop.
 *
 * @example
 * const customerId: CustomerIdResolver = (req) => req.user?.accountId;
 * @publicApi
 */
export type CustomerIdResolver<Req = any> = (req: Req, context: ExecutionContext) => string | number | null | undefined | NothingToBill;

/**
 * A route's units per call (negative consumes), from the request and the value the handler
 * produced: the last value its observable emitted, `undefined` for `@Res()` handlers that write
 * the response themselves. Runs once, after the response finished with a success status.
 * Exactly `0` or `NOTHING_TO_BILL` (from core) means nothing to bill (a cache hit): not billed,
 * counted in `stats().skipped`, never a drop nor a health problem. A non-finite number is refused.
 *
 * @example
 * @Metered<Completion>({ reason: 'tokens', delta: (req, result) => (result.cached ? NOTHING_TO_BILL : -result.usage.tokens) })
 * @publicApi
 */
export type DeltaResolver<Req = any, Result = any> = (req: Req, result: Result, context: ExecutionContext) => number | NothingToBill;

/**
 * A route's extra key/values, from the request and the handler's value. Must return a plain
 * object of JSON values (or nothing); it is serialized once, so every retry sends the same bytes.
 *
 * @example
 * @Metered({ reason: 'export', metadata: (req, result) => ({ rows: result.rows }) })
 * @publicApi
 */
export type MetadataResolver<Req = any, Result = any> = (req: Req, result: Result, context: ExecutionContext) => Record<string, unknown> | undefined;

/**
 * The module-wide form of {@link DeltaResolver}: from the request only, so that routes that do not
 * need the handler's value stay free of any interceptor.
 *
 * @example
 * MeteringModule.forRoot({ delta: (req) => (req.user.plan === 'bulk' ? -0.5 : -1) })
 * @publicApi
 */
export type RequestDeltaResolver<Req = any> = (req: Req, context: ExecutionContext) => number | NothingToBill;

/**
 * The module-wide form of {@link MetadataResolver}: from the request only.
 *
 * @example
 * MeteringModule.forRoot({ metadata: (req) => ({ plan: req.user.plan }) })
 * @publicApi
 */
export type RequestMetadataResolver<Req = any> = (req: Req, context: ExecutionContext) => Record<string, unknown> | undefined;

/**
 * One of several meters of a call (`@Metered([...])`): its own reason, and its units from the
 * request and the handler's value. Each is billed once per call, under its own referenceId
 * (`{scope}:{reason}:{customerId}:{requestId}`), so the reasons of one route must differ.
 *
 * @example
 * const input: MeteredDelta<any, Completion> = { reason: 'input_tokens', delta: (req, result) => -result.usage.input };
 * @publicApi
 */
export interface MeteredDelta<Req = any, Result = any> {
  /** Why the balance changes (1-500 characters), distinct within the route. */
  reason: string;
  /** Units per call (0 or `NOTHING_TO_BILL`: nothing to bill for this reason). Default: the module's `delta`. */
  delta?: number | DeltaResolver<Req, Result> | undefined;
  /** This meter's own metadata, merged over the route's. */
  metadata?: Record<string, unknown> | MetadataResolver<Req, Result> | undefined;
  /** Stream routes (`@Sse()`, `StreamableFile`): this meter's units per event or chunk. See {@link UnitsResolver}. */
  units?: UnitsResolver<Req> | undefined;
}

/**
 * A stream route's units in one event it sends (an `@Sse()` route's `MessageEvent`) or one chunk
 * of a `StreamableFile` (a `Buffer`/`Uint8Array`), for one reason. The route bills, per reason, the
 * sum of the units of what was sent, once, when the stream ends or the client cuts it. Default: 1
 * per event, the byte length of a chunk. Must return a finite number >= 0 (a bad answer refuses the
 * stream's delta for that reason).
 *
 * @example
 * @Sse('completions') @Metered({ reason: 'output_tokens', units: (event) => event.data.tokens }) stream() { ... }
 * @publicApi
 */
export type UnitsResolver<Req = any, Event = any> = (event: Event, req: Req) => number;
