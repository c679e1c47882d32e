import type { ConfigurableModuleAsyncOptions } from '@nestjs/common';
import type { AggregatingMeterOptions, Meter, MeterOptions, PeriodicMeterOptions } from '@pacspace-metering/core';
import type { MeteringBalanceOptions } from '../balance/balance-options.interface.js';
import type { CustomerIdResolver, DeltaResolver, MetadataResolver, MeteredDelta, RequestDeltaResolver, RequestMetadataResolver, UnitsResolver } from './resolver.types.js';

export type { CustomerIdResolver, DeltaResolver, MetadataResolver, MeteredDelta, RequestDeltaResolver, RequestMetadataResolver, UnitsResolver } from './resolver.types.js';

/**
 * Options of {@link MeteringModule.forRoot}: every {@link MeterOptions} field of `createMeter`
 * (`apiKey`, `baseUrl`, `client`, `scope`, queue and retry limits, hooks, `logger`), or an existing
 * `meter`, plus how Nest requests become deltas.
 *
 * @example
 * MeteringModule.forRoot({
 *   apiKey: process.env.PACSPACE_API_KEY,
 *   scope: 'reports-api',
 *   customerId: (req) => req.user?.accountId,
 * });
 * @publicApi
 */
export interface MeteringModuleOptions<Req = any> extends MeterOptions {
  /**
   * An existing Meter to use instead of creating one. It cannot be combined with `createMeter`
   * options. The module flushes it on shutdown but does not close it (its creator does).
   * Default: a Meter created from the other options, closed on shutdown.
   */
  meter?: Meter | undefined;
  /** Who pays, for every metered route that does not name its own. Default: none (each `@Metered` must give one). */
  customerId?: CustomerIdResolver<Req> | undefined;
  /**
   * Default reason (1-500 characters). Routes with `@Metered()` and no reason use it; with
   * `MeteringInterceptor` bound as `APP_INTERCEPTOR`, every route without `@SkipMetering()` is
   * metered with it. Default: none.
   */
  reason?: string | undefined;
  /** Default units per successful call: a non-zero number within ±1e9, or a {@link RequestDeltaResolver}. Default: `-1`. */
  delta?: number | RequestDeltaResolver<Req> | undefined;
  /**
   * Key/values stored with every delta (a plain object or a {@link RequestMetadataResolver}); a
   * route's own `metadata` is merged over it. `route` (the route pattern, never the raw URL) and
   * `method` are added first, so you can override them. Default: none.
   */
  metadata?: Record<string, unknown> | RequestMetadataResolver<Req> | undefined;
  /**
   * Decides, once the response has finished, whether the call is billed. `res` is the framework's
   * response (Express `res`, Fastify `reply`). Default: the status written is below 400.
   */
  isSuccess?: ((req: Req, res: any) => boolean) | undefined;
  /**
   * Bill `OPTIONS` requests (HTTP), for an API whose `OPTIONS` handlers do work it charges for. A
   * CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) is never billed, even then: the
   * browser sends it on its own before the real call, which is billed. Default: `false`, no
   * `OPTIONS` request is billed. `HEAD` is billed like any other method.
   */
  meterOptionsRequests?: boolean | undefined;
  /**
   * Your own request id, tried first and used as it is. A value that is not 1-128 characters of
   * `[A-Za-z0-9_.:-]` is ignored. Default: none; then `req.id` when `trustUpstreamId` is set, then
   * `requestIdHeader`, then a fresh UUID. The id is echoed in `responseHeader`, if set. A resolver that
   * throws or returns a Promise refuses the call's delta (counted and reported, field `requestId`)
   * rather than bill it under a random id your resolver did not choose.
   */
  requestId?: ((req: Req) => unknown) | undefined;
  /**
   * Bill under `req.id` set upstream (Fastify's `genReqId`, pino-http, nestjs-pino). Default:
   * `false`: those recipes often copy the client's `X-Request-Id` (Fastify 4 reads `request-id` by
   * default), and a client that repeats an id would have its calls billed as one. A trusted id is
   * bound to the call (method and URL). Untrusted, `req.id` can still go into the metadata for
   * correlation: `metadata: (req) => ({ upstreamId: req.id })`.
   */
  trustUpstreamId?: boolean | undefined;
  /**
   * A request header to trust as the request id, e.g. `'x-request-id'`. Default: none. Only name
   * one set by your own edge: a client that repeats an id would have its calls billed as one. The
   * id is bound to the call (`{id}.{16 hex of sha256(method + ' ' + URL)}`): a retry of the same
   * call is billed once, the same id on another URL is another call, never a 409.
   */
  requestIdHeader?: string | undefined;
  /**
   * Response header to echo the request id the call is billed under in, e.g. `'x-request-id'`, or
   * `false` for none. Default: none (a header costs every request, and would replace an
   * `x-request-id` the app sets itself; `@BillingRequestId()` reads the id without one).
   */
  responseHeader?: string | false | undefined;
  /** How long application shutdown waits for queued deltas to be delivered. Default: `30000` ms. */
  shutdownTimeoutMs?: number | undefined;
  /**
   * Check at start-up that PacSpace accepts the API key (`meter.verifyCredentials()`, one read that
   * bills nothing): a wrong key, or PacSpace out of reach, then aborts the application's start
   * (`app.init()`/`app.listen()` rejects) instead of losing every delta later. Default: `false`.
   */
  verifyCredentials?: boolean | undefined;
  /**
   * Periodic (or hybrid) metering run by the module: one {@link MeteringPeriodicOptions} per job
   * (an array for several, each with its own `name`). The module creates each periodic meter while
   * the application bootstraps, starts it once the application has started (unless
   * `start: false`), and stops it on shutdown before the Meter is closed. Inject it with
   * `@InjectPeriodicMeter()` (`@InjectPeriodicMeter(name)` for one of several). Default: none.
   */
  periodic?: MeteringPeriodicOptions | readonly MeteringPeriodicOptions[] | undefined;
  /**
   * Sum every metered route's deltas per (customer, reason, window) and send one delta per window
   * (`true`, or the options of `createAggregatingMeter`, e.g. `{ interval: '1m', instanceId }`). The
   * module's Meter (`@InjectMeter()`) is then the aggregating meter; on shutdown the module closes
   * it, which sends the open sums. With `meter` given, the aggregation wraps it and the given
   * Meter is flushed, not closed. Default: none (one delta per call).
   */
  aggregate?: true | Omit<AggregatingMeterOptions, 'closeMeter'> | undefined;
  /**
   * The balance gate behind `@RequireBalance()` and `BalanceGuard`: `true` for the defaults, or the
   * gate's options (`ttlMs`, `maxStaleMs`, `waitMs`, `whenUnavailable`, `maxCustomers`,
   * `deriveScope`, `fleetPending`, `holdDeliveredMs`, `logger`) plus the gated routes' defaults:
   * `price` (default `1`), `customerId` (default: the module's) and `problem` (shapes the 402/503
   * body). Not with `aggregate`. Default: none; a route with `@RequireBalance()` then uses a gate
   * with every default.
   */
  balance?: true | MeteringBalanceOptions<Req> | undefined;
}

/**
 * One periodic job of {@link MeteringModuleOptions.periodic}: the options of `createPeriodicMeter`,
 * where `client`, `apiKey`, `baseUrl`, `scope`, `attemptTimeoutMs` and `logger` default to the
 * module's (a module created with `enabled: false` gives its periodic meters a dry-run client), and
 * `closePeriods: true` drains the module's Meter before each month's checkpoint, plus `start`.
 *
 * @example
 * MeteringModule.forRoot({
 *   scope: 'storage-api',
 *   customerId: (req) => req.user.id,
 *   periodic: { interval: '1h', statePath: '/var/lib/storage-api/periodic.json', collect: ({ start, end }) => usage.between(start, end), closePeriods: true },
 * })
 * @publicApi
 */
export interface MeteringPeriodicOptions extends Omit<PeriodicMeterOptions, 'closePeriods'> {
  /** As `createPeriodicMeter`'s; `true`, or an object without `drain`, drains the module's Meter first. Default: `false`. */
  closePeriods?: PeriodicMeterOptions['closePeriods'] | undefined;
  /** Start the schedule (`periodic.start()`) once the application has started. `false` leaves it to you (`runDue()` from your own scheduler). Default: `true`. */
  start?: boolean | undefined;
}

/**
 * Options of {@link MeteringModule.forRoot}: {@link MeteringModuleOptions} plus `isGlobal`.
 *
 * @example
 * MeteringModule.forRoot({ scope: 'reports-api', customerId: (req) => req.user.id, isGlobal: true });
 * @publicApi
 */
export interface MeteringForRootOptions<Req = any> extends MeteringModuleOptions<Req> {
  /** Register the module globally, so controllers of every module can use `@Metered()`. Default: `false`. */
  isGlobal?: boolean | undefined;
}

/**
 * A class that builds the module options, for `forRootAsync({ useClass })` / `useExisting`.
 *
 * @example
 * @Injectable()
 * class MeteringConfig implements MeteringOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createMeteringOptions() { return { apiKey: this.config.get('PACSPACE_API_KEY') }; }
 * }
 * @publicApi
 */
export interface MeteringOptionsFactory {
  createMeteringOptions(): MeteringModuleOptions | Promise<MeteringModuleOptions>;
}

/**
 * Options of {@link MeteringModule.forRootAsync}: `imports`, `inject` and one of `useFactory`,
 * `useClass`, `useExisting`, plus `isGlobal` (default `false`).
 *
 * @example
 * MeteringModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ apiKey: config.get('PACSPACE_API_KEY') }),
 * });
 * @publicApi
 */
export interface MeteringModuleAsyncOptions extends ConfigurableModuleAsyncOptions<MeteringModuleOptions, 'createMeteringOptions'> {
  /** Register the module globally. Default: `false`. */
  isGlobal?: boolean | undefined;
}

/**
 * Options of {@link Metered}. Every field falls back to the module's option of the same name.
 *
 * @example
 * @Metered({ reason: 'report_generated', delta: (req, result) => -result.pages })
 * @publicApi
 */
export interface MeteredOptions<Req = any, Result = any> {
  /** Why the balance changes (1-500 characters); also part of the referenceId. Default: the module's `reason`. */
  reason?: string | undefined;
  /**
   * Units per successful call, or a {@link DeltaResolver} of the request and the handler's value
   * (a function makes `@Metered` observe the handler's value with a small interceptor; a number
   * keeps the route interceptor-free). Default: the module's `delta` (`-1`).
   */
  delta?: number | DeltaResolver<Req, Result> | undefined;
  /** Who pays. Default: the module's `customerId`. */
  customerId?: CustomerIdResolver<Req> | undefined;
  /** A plain object or a {@link MetadataResolver}, merged over the module's `metadata`. Default: none. */
  metadata?: Record<string, unknown> | MetadataResolver<Req, Result> | undefined;
  /**
   * Several meters per call instead of `reason`/`delta` (input and output tokens, say): each
   * {@link MeteredDelta} billed once under its own referenceId, from the same handler value.
   * `@Metered([...])` is the short form. Default: none.
   */
  meters?: ReadonlyArray<MeteredDelta<Req, Result>> | undefined;
  /**
   * Makes the route a stream route, billed by what it sent: the units of each `@Sse()` event or
   * `StreamableFile` chunk ({@link UnitsResolver}), summed per reason and billed once when the
   * stream ends or the client cuts it (`metadata.stream`: `'ended'` or `'aborted'`); `delta` is
   * then the amount per unit (default `-1`). `@Sse()` routes with `@Metered` are stream routes
   * without it (1 unit per event). Default: none.
   */
  units?: UnitsResolver<Req> | undefined;
}
