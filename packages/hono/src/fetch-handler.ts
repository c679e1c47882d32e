import { MeteringConfigError, type Meter } from '@pacspace-metering/core';
import { bill, skipped, succeeded } from './bill.js';
import { watchDelivery } from './delivery.js';
import { echoed } from './echo.js';
import { resolveAdapterConfig, SHARED_OPTION_NAMES, type SharedOptions } from './options.js';
import { requestIdOf, stateOf } from './request-state.js';

/**
 * Options of {@link meterFetch}: resolvers take the `Request` and the `Response` the handler
 * answered (`skip` and `requestId`, called on entry, only the `Request`). Only `customerId` is
 * required. A fetch handler has no route patterns, so the metadata carries `method` only: put your
 * own route name in `metadata` if you have one (never the raw URL).
 *
 * @example
 * const options: MeterFetchOptions = {
 *   customerId: (request) => request.headers.get('x-account'),
 *   delta: (_request, response) => -Number(response.headers.get('x-units') ?? 1),
 * };
 */
export type MeterFetchOptions = SharedOptions<[request: Request, response: Response], [request: Request]>;

/**
 * Every option name of {@link MeterFetchOptions}; `meterFetch()` rejects any other name.
 *
 * @example
 * FETCH_OPTION_NAMES.includes('waitUntil'); // true
 */
export const FETCH_OPTION_NAMES: ReadonlyArray<keyof MeterFetchOptions> = Object.freeze([...SHARED_OPTION_NAMES]);

/** A fetch-standard handler: `Bun.serve`'s and `Deno.serve`'s `fetch`, a Worker's `fetch(request, env, ctx)`, `app.fetch` of Hono. */
export type FetchHandler<Rest extends unknown[] = unknown[]> = (request: Request, ...rest: Rest) => Response | Promise<Response>;

/**
 * Wraps a fetch-standard handler `(request, ...rest) => Response` so that every successful
 * request is billed into PacSpace's Balance API through a Meter, with the rules of the Hono
 * middleware and `@pacspace-metering/express`: one delta per request (per reason), once the
 * response counts as delivered with a success status (`isSuccess`; default status < 400). A
 * handler that throws (or rejects) is not billed; its error goes on to the server as it is.
 *
 * Delivered means: on Node through @hono/node-server (it passes `{ incoming, outgoing }` after
 * the request), Node's response finished; anywhere else, the server read the body to its end (or,
 * without a body, the handler answered). A client that goes away first is not billed.
 *
 * `waitUntil`: given, or found among the arguments after the request (a Worker's `ctx`, Netlify's
 * `context`); with one, each request's outcome and a `meter.flush()` are handed to it.
 *
 * @param meter - a Meter from `createMeter()` of `@pacspace-metering/core`.
 * @param handler - your handler; its extra arguments are passed through.
 * @param options - see {@link MeterFetchOptions}; `customerId` is required.
 * @returns a handler of the same shape, to give to `Bun.serve`, `Deno.serve`, a Worker's default
 *   export or @hono/node-server's `serve`.
 * @throws MeteringConfigError naming the option, for a bad option, handler or meter.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterFetch } from '@pacspace-metering/hono/fetch';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const fetch = meterFetch(meter, (request) => Response.json({ ok: true }), {
 *   customerId: (request) => request.headers.get('x-account'),
 * });
 * Bun.serve({ fetch });
 */
export function meterFetch<Rest extends unknown[]>(meter: Meter, handler: FetchHandler<Rest>, options: MeterFetchOptions): (request: Request, ...rest: Rest) => Promise<Response> {
  const config = resolveAdapterConfig(meter, options, FETCH_OPTION_NAMES);
  if (typeof handler !== 'function') throw new MeteringConfigError('handler', 'must be a function (request, ...rest) => Response');
  const { requestId, requestIdHeader, responseHeader } = config;

  return async function meteredFetch(request: Request, ...rest: Rest): Promise<Response> {
    if (config.skip !== undefined && skipped(meter, config, [request])) return handler(request, ...rest);
    const state = stateOf(request);
    const id = requestIdOf(request, state, {
      own: requestId === undefined ? undefined : () => requestId(request as never),
      upstream: undefined,
      header: requestIdHeader,
    });
    const answered = await handler(request, ...rest);
    const watched = watchDelivery(meter, config, {
      response: answered,
      outgoing: (rest[0] as { outgoing?: unknown } | undefined)?.outgoing,
      waitUntil: waitUntilAmong(rest),
      bill: () => (succeeded(meter, config, [request, answered], answered.status < 400) ? bill(meter, config, [request, answered], { requestId: id, state, base: { method: request.method } }) : undefined),
    });
    return responseHeader === undefined ? watched : echoed(watched, responseHeader, id);
  };
}

/** The `waitUntil` of the first argument after the request that has one (a Worker's `ctx`). */
function waitUntilAmong(rest: unknown[]): ((promise: Promise<unknown>) => void) | undefined {
  for (const arg of rest) {
    const waitUntil = (arg as { waitUntil?: unknown } | null | undefined)?.waitUntil;
    if (typeof waitUntil === 'function') return (promise) => waitUntil.call(arg, promise);
  }
  return undefined;
}
