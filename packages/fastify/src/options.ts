import type { Meter, NothingToBill, UsageDelta } from '@pacspace-metering/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * How one route is billed: the fields a route may set in its config (`config: { metering: {...} }`),
 * each overriding the plugin's option of the same name for that route. Every resolver runs when
 * the response has **finished** with a success status, so it can read what an auth hook or the
 * handler set on the request or reply. A resolver that throws, or returns a value PacSpace would
 * reject (or a Promise), never changes the response: the delta is refused by the meter and
 * reported through its `onDrop`/`onError` hooks and `meter.stats().dropped.invalid`.
 *
 * @example
 * app.post('/reports', { config: { metering: { reason: 'report_generated', delta: -5 } } }, createReport);
 */
export interface RouteMeteringOptions {
  /**
   * Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`, or a safe integer (billed as its decimal
   * string). Returning nothing refuses the delta (counted and reported); `NOTHING_TO_BILL` skips
   * it (counted in `stats().skipped`, never a drop).
   *
   * @default the plugin's `customerId`
   * @example (request) => request.user?.accountId
   */
  customerId?: ((request: FastifyRequest, reply: FastifyReply) => string | number | null | undefined | NothingToBill) | undefined;
  /**
   * Balance change per successful request: a finite, non-zero number within ±1e9 (negative
   * consumes), or a function of the finished request and reply (0 or `NOTHING_TO_BILL` from it:
   * nothing to bill, never a drop).
   *
   * @default -1 (or the plugin's `delta`)
   */
  delta?: number | ((request: FastifyRequest, reply: FastifyReply) => number | NothingToBill) | undefined;
  /**
   * Several deltas per call, instead of `delta`/`reason`: `[{ reason, delta, metadata? }]` from
   * the finished request and reply, each billed once under its own referenceId
   * (`{scope}:{reason}:{customerId}:{requestId}`); a reason given twice refuses the list, naming
   * `deltas[i].reason`; 0 or `NOTHING_TO_BILL` bills nothing. A route that sets `delta` or
   * `reason` is billed with one delta, whatever the plugin's `deltas`.
   *
   * @default none (one delta: `delta` for `reason`)
   */
  deltas?: ((request: FastifyRequest, reply: FastifyReply) => readonly UsageDelta[] | NothingToBill) | undefined;
  /**
   * Why: 1-500 characters, or a function of the finished request and reply. Also the operation
   * segment of the referenceId, so a request is billed at most once per reason.
   *
   * @default 'api_request' (or the plugin's `reason`)
   */
  reason?: string | ((request: FastifyRequest, reply: FastifyReply) => string) | undefined;
  /**
   * Extra fields for the delta's metadata (a plain object of JSON values), merged over the
   * library's own `route` (the route pattern from Fastify's route config, e.g. `/v1/reports/:id`,
   * never the raw URL) and `method`; your keys win.
   *
   * @default none (only `route` and `method`)
   */
  metadata?: ((request: FastifyRequest, reply: FastifyReply) => Record<string, unknown> | undefined) | undefined;
  /**
   * Whether a finished response is billed.
   *
   * @default (request, reply) => reply.statusCode < 400
   */
  isSuccess?: ((request: FastifyRequest, reply: FastifyReply) => boolean) | undefined;
}

/**
 * Options of the `fastifyMetering` plugin: `meter` and `customerId` are required. The fields of
 * {@link RouteMeteringOptions} are the defaults every route in the plugin's scope is billed with;
 * a route overrides them in its config (`config: { metering: {...} }`) or opts out
 * (`config: { metering: false }`).
 *
 * @example
 * await app.register(fastifyMetering, {
 *   meter,
 *   customerId: (request) => request.user?.accountId,
 *   skip: (request) => request.url === '/health',
 * });
 */
export interface FastifyMeteringOptions extends RouteMeteringOptions {
  /** A Meter from `createMeter()` of `@pacspace-metering/core`. Required. */
  meter: Meter;
  /** Who pays; see {@link RouteMeteringOptions.customerId}. Required here (a route may override it). */
  customerId: NonNullable<RouteMeteringOptions['customerId']>;
  /**
   * Return true to leave a request unmetered (health checks, OPTIONS, ...). Called when the
   * request arrives (`onRequest`).
   *
   * @default none: every request is considered
   */
  skip?: ((request: FastifyRequest) => boolean) | undefined;
  /**
   * Your own id for the request, tried first and used as it is. Values that are not 1-128
   * characters of `[A-Za-z0-9_.:-]` are ignored (then `request.id` when trusted, then
   * `requestIdHeader`, then a fresh UUID). A resolver that throws or returns a Promise refuses the
   * request's delta (counted and reported, field `requestId`) rather than bill it under a random
   * id your resolver did not choose.
   *
   * @default none
   */
  requestId?: ((request: FastifyRequest) => string | number | null | undefined) | undefined;
  /**
   * Bill under Fastify's `request.id`. Off by default: Fastify takes it from a client header when
   * the server's `requestIdHeader` is set (Fastify 4 reads `request-id` unless told otherwise), so
   * a client that repeats an id would have all those calls billed as one; and its default counter
   * (`req-1`, `req-2`, ...) starts again in every process. Turned on, the id is bound to the call
   * (method and URL) and a counter id is qualified with a random id of this registration, so a
   * restart or a second app never reuses one. Without it, `request.id` can still go into the
   * metadata for correlation: `metadata: (request) => ({ fastifyId: request.id })`.
   *
   * @default false
   */
  trustUpstreamId?: boolean | undefined;
  /**
   * A request header whose value is trusted as the request id, e.g. `'x-request-id'`. Off by
   * default, because the client controls it; turn it on only when a gateway you control sets it
   * (and strips the client's own). The id is bound to the call: `{id}.{16 hex of sha256(method +
   * ' ' + URL)}`, so a retry of the same call is billed once, and the same id on another URL is
   * another call, never a 409.
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
 * Every option name of {@link FastifyMeteringOptions}. The plugin rejects any other name, so option
 * typos in JavaScript fail the registration.
 *
 * @example
 * PLUGIN_OPTION_NAMES.includes('reason'); // true
 */
export const PLUGIN_OPTION_NAMES: ReadonlyArray<keyof FastifyMeteringOptions> = Object.freeze([
  'meter', 'customerId', 'delta', 'reason', 'deltas', 'metadata', 'isSuccess', 'skip', 'requestId', 'trustUpstreamId', 'requestIdHeader', 'responseHeader',
] satisfies Array<keyof FastifyMeteringOptions>);

/**
 * Every field a route's `config.metering` may set (see {@link RouteMeteringOptions}); any other
 * fails the route's registration.
 *
 * @example
 * ROUTE_OPTION_NAMES.includes('delta'); // true
 */
export const ROUTE_OPTION_NAMES: ReadonlyArray<keyof RouteMeteringOptions> = Object.freeze([
  'customerId', 'delta', 'reason', 'deltas', 'metadata', 'isSuccess',
] satisfies Array<keyof RouteMeteringOptions>);

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How `@pacspace-metering/fastify` bills this route: fields overriding the plugin's options
     * (see `RouteMeteringOptions`), or `false` to leave the route unmetered.
     *
     * @default the plugin's options
     * @example
     * app.get('/v1/exports/:id', { config: { metering: { reason: 'export', delta: -10 } } }, handler);
     */
    metering?: RouteMeteringOptions | false | undefined;
  }
}
