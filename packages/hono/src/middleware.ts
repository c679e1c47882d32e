import type { Meter } from '@pacspace-metering/core';
import type { Context, Env, MiddlewareHandler } from 'hono';
import { bill, skipped, succeeded } from './bill.js';
import { watchDelivery } from './delivery.js';
import { echoed } from './echo.js';
import { resolveAdapterConfig, SHARED_OPTION_NAMES, type SharedOptions } from './options.js';
import { requestIdOf, stateOf } from './request-state.js';
import { routePattern } from './route.js';

/**
 * Options of {@link meterRequests}: resolvers take Hono's `Context`, so they can read what your
 * auth middleware set (`c.get('accountId')`) and what the handler answered (`c.res`). Only
 * `customerId` is required.
 *
 * @typeParam E - your app's Hono `Env` (`{ Variables: { accountId: string } }`), so `c.get()` is typed.
 *
 * @example
 * const options: MeterRequestsOptions<{ Variables: { accountId: string } }> = {
 *   customerId: (c) => c.get('accountId'),
 *   reason: 'report_generated',
 *   delta: -5,
 * };
 */
export interface MeterRequestsOptions<E extends Env = any> extends SharedOptions<[c: Context<E>], [c: Context<E>]> {
  /**
   * Bill under the id of Hono's `requestId()` middleware (`c.get('requestId')`). Off by default:
   * that middleware takes the client's `X-Request-Id` header when there is one, so a client that
   * repeats one id would have all those calls billed as one. An id trusted this way is bound to the
   * call (method and path), as a trusted header is.
   *
   * @default false
   */
  trustUpstreamId?: boolean | undefined;
}

/**
 * Every option name of {@link MeterRequestsOptions}; `meterRequests()` rejects any other name, so
 * option typos in JavaScript are caught at start-up.
 *
 * @example
 * HONO_OPTION_NAMES.includes('reason'); // true
 */
export const HONO_OPTION_NAMES: ReadonlyArray<keyof MeterRequestsOptions> = Object.freeze([...SHARED_OPTION_NAMES, 'trustUpstreamId'] as const);

/**
 * Hono middleware (Hono 4.8+) that bills every successful request into PacSpace's Balance API
 * through a Meter: one delta per request (per reason), queued once the response counts as
 * delivered with a success status, the same rules as `@pacspace-metering/express`. Use it
 * app-wide (`app.use(...)`) or on a route.
 *
 * On entry: `skip`, then the request id (your `requestId`, Hono's `requestId()` when trusted, the
 * trusted header, else a fresh UUID; echoed when `responseHeader` names a header). After the
 * handler: nothing is billed when it threw (`c.error`), or answered 4xx/5xx (`isSuccess` decides when given). Then the
 * response is watched until it is delivered: on Node (@hono/node-server) when it has finished, as
 * in Express; on Bun, Deno and Workers when the server has read its body to the end; a client that
 * goes away first is not billed. The delta carries `{ route, method }` metadata, `route` being the
 * matched pattern ({@link routePattern}), never the raw URL. On Workers, delivery rides
 * `c.executionCtx.waitUntil(meter.flush())`. A request that passes two of these middlewares (or
 * this and `meterFetch`) with the same reason and customer is billed once.
 *
 * @param meter - a Meter from `createMeter()` of `@pacspace-metering/core`.
 * @param options - see {@link MeterRequestsOptions}; `customerId` is required. Defaults: `delta`
 *   -1, `reason` `'api_request'`, success = status < 400 and no error thrown, no `skip`, upstream
 *   ids and request-id headers not trusted, no `responseHeader` (no echo), `waitUntil` the
 *   execution context's, `flushTimeoutMs` 20000.
 * @throws MeteringConfigError naming the option, for a bad option or a missing meter.
 *
 * @example
 * import { Hono } from 'hono';
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterRequests } from '@pacspace-metering/hono';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = new Hono<{ Variables: { accountId: string } }>();
 * app.use(authenticate);
 * app.use(meterRequests(meter, { customerId: (c) => c.get('accountId') }));
 * app.get('/reports/:id', (c) => c.json({ id: c.req.param('id') }));
 */
export function meterRequests<E extends Env = any>(meter: Meter, options: MeterRequestsOptions<E>): MiddlewareHandler<E> {
  const config = resolveAdapterConfig(meter, options, HONO_OPTION_NAMES);
  const { requestId, trustUpstreamId, requestIdHeader, responseHeader } = config;

  return async function meterRequestsMiddleware(c, next) {
    // A skip that cannot answer (threw, returned a Promise) leaves the request unmetered, reported.
    if (config.skip !== undefined && skipped(meter, config, [c])) return next();
    const request = c.req.raw;
    const state = stateOf(request);
    const id = requestIdOf(request, state, {
      own: requestId === undefined ? undefined : () => requestId(c as never),
      upstream: trustUpstreamId ? () => c.get('requestId' as never) : undefined,
      header: requestIdHeader,
    });
    await next();
    const answered = c.res;
    const threw = c.error !== undefined;
    const watched = watchDelivery(meter, config, {
      response: answered,
      outgoing: (c.env as { outgoing?: unknown } | undefined)?.outgoing,
      waitUntil: waitUntilOf(c),
      bill: () => {
        if (threw || !succeeded(meter, config, [c], answered.status < 400)) return undefined;
        const route = routePattern(c);
        return bill(meter, config, [c], { requestId: id, state, base: route === undefined ? { method: request.method } : { route, method: request.method } });
      },
    });
    const final = responseHeader === undefined ? watched : echoed(watched, responseHeader, id);
    // Hono copies a Response assigned to c.res: only when it changed.
    if (final !== answered) c.res = final;
  };
}

/** The execution context's `waitUntil` (Workers, Hono's Vercel and Netlify adapters), if there is one. */
function waitUntilOf(c: Context): ((promise: Promise<unknown>) => void) | undefined {
  let context: { waitUntil?: unknown };
  try {
    context = c.executionCtx; // a getter that throws where there is none
  } catch {
    return undefined;
  }
  return typeof context?.waitUntil === 'function' ? (promise) => (context.waitUntil as (p: Promise<unknown>) => void)(promise) : undefined;
}
