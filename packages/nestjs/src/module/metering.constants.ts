/**
 * Injection token of the {@link Meter} the module created or was given. A string, not a class or a
 * `Symbol()`, so the ESM and the CommonJS build of this package resolve the same provider.
 * Prefer {@link InjectMeter} or {@link getMeterToken} over using it directly.
 *
 * @example
 * const meter = app.get<Meter>(METER);
 * @publicApi
 */
export const METER = 'PACSPACE_METERING_METER';

/**
 * Injection token of the periodic meter the module runs (`periodic` in `forRoot`; the first job
 * when there are several). Prefer {@link InjectPeriodicMeter}.
 *
 * @example
 * const periodic = app.get<PeriodicMeter>(PERIODIC_METER);
 * @publicApi
 */
export const PERIODIC_METER = 'PACSPACE_METERING_PERIODIC_METER';

/**
 * Injection token of every periodic meter the module runs, a `ReadonlyMap` by job `name`.
 *
 * @example
 * const storage = app.get<ReadonlyMap<string, PeriodicMeter>>(PERIODIC_METERS).get('storage');
 * @publicApi
 */
export const PERIODIC_METERS = 'PACSPACE_METERING_PERIODIC_METERS';

/** @internal Injection token of the resolved module settings (the Meter plus the Nest defaults). */
export const METERING_RUNTIME = 'PACSPACE_METERING_RUNTIME';

/**
 * Metadata key written by {@link Metered} on a handler or a controller class.
 *
 * @example
 * reflector.get(METERED_METADATA, handler); // -> { reason: 'report_viewed' }
 * @publicApi
 */
export const METERED_METADATA = 'pacspace-metering:metered';

/**
 * Metadata key written by {@link SkipMetering} on a handler or a controller class.
 *
 * @example
 * reflector.get(SKIP_METERING_METADATA, handler); // -> true
 * @publicApi
 */
export const SKIP_METERING_METADATA = 'pacspace-metering:skip';

/** @internal Nest's own key for `@Sse()` (the same string in Nest 11 and 12). */
export const NEST_SSE_METADATA = '__sse__';

/** @internal Nest's own keys (the same strings in Nest 11 and 12). */
export const NEST_INTERCEPTORS_METADATA = '__interceptors__';
export const NEST_GUARDS_METADATA = '__guards__';
export const NEST_PATH_METADATA = 'path';
export const NEST_METHOD_METADATA = 'method';

/**
 * @internal Where a call being metered is kept: on the raw response (HTTP) or on the handler's
 * argument list (other contexts). Its presence is also the claim that makes a second guard or
 * interceptor on the same call a no-op. `Symbol.for`, so the ESM and CommonJS builds agree.
 */
export const CALL = Symbol.for('pacspace-metering.nestjs.call');

/**
 * Default units billed per successful call (the `delta` option): one unit consumed.
 *
 * @example
 * @Metered({ reason: 'bulk_export', delta: 10 * DEFAULT_DELTA })
 * @publicApi
 */
export const DEFAULT_DELTA = -1;

/**
 * The usual header to echo the billed request id in, for `responseHeader: DEFAULT_RESPONSE_HEADER`.
 * The echo is off unless `responseHeader` names a header: `setHeader` cost about a quarter of the
 * decorator's own instructions per request, and an app that sets its own `x-request-id` would
 * have had it replaced. `@BillingRequestId()` gives handlers the id without a header.
 *
 * @example
 * MeteringModule.forRoot({ meter, customerId, responseHeader: DEFAULT_RESPONSE_HEADER });
 * @publicApi
 */
export const DEFAULT_RESPONSE_HEADER = 'x-request-id';

/**
 * Default time application shutdown waits for queued deltas (the `shutdownTimeoutMs` option).
 *
 * @example
 * MeteringModule.forRoot({ ..., shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS / 3 }) // within a 10 s grace period
 * @publicApi
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
