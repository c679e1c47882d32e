import type { ExecutionContext } from '@nestjs/common';

/**
 * Who pays for a call: returns the customerId (1-128 characters of `[A-Za-z0-9_.:-]`; a safe
 * integer is turned into its decimal string, as `@pacspace-metering/express` does). `req` is the
 * framework's request: Express's `req`, or Fastify's `request` (not `request.raw`). For non-HTTP
 * handlers (microservices) it is the handler's first argument, the message payload. Runs once,
 * after the response finished with a success status. Returning nothing, throwing or returning a
 * Promise refuses the delta: it is counted in `meter.stats().dropped.invalid` and passed to
 * `onDrop`/`onError`; the response is never affected.
 *
 * @example
 * const customerId: CustomerIdResolver = (req) => req.user?.accountId;
 * @publicApi
 */
export type CustomerIdResolver<Req = any> = (req: Req, context: ExecutionContext) => string | number | null | undefined;

/**
 * A route's units per call (negative consumes), from the request and the value the handler
 * produced: the last value its observable emitted, `undefined` for `@Res()` handlers that write
 * the response themselves. Runs once, after the response finished with a success status.
 *
 * @example
 * @Metered({ reason: 'report_generated', delta: (req, result) => -result.pages })
 * @publicApi
 */
export type DeltaResolver<Req = any, Result = any> = (req: Req, result: Result, context: ExecutionContext) => number;

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
export type RequestDeltaResolver<Req = any> = (req: Req, context: ExecutionContext) => number;

/**
 * The module-wide form of {@link MetadataResolver}: from the request only.
 *
 * @example
 * MeteringModule.forRoot({ metadata: (req) => ({ plan: req.user.plan }) })
 * @publicApi
 */
export type RequestMetadataResolver<Req = any> = (req: Req, context: ExecutionContext) => Record<string, unknown> | undefined;
