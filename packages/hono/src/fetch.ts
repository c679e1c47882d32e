/**
 * @pacspace-metering/hono/fetch: bill every successful request of a plain fetch-standard handler
 * (`Bun.serve`, `Deno.serve`, a Cloudflare Worker, @hono/node-server) into PacSpace's Balance API.
 * Needs no Hono.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterFetch } from '@pacspace-metering/hono/fetch';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * Deno.serve(meterFetch(meter, handler, { customerId: (request) => request.headers.get('x-account') }));
 */
export { meterFetch, FETCH_OPTION_NAMES } from './fetch-handler.js';
export type { FetchHandler, MeterFetchOptions } from './fetch-handler.js';
export type { SharedOptions } from './options.js';
