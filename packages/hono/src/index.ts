/**
 * @pacspace-metering/hono: bill every successful request of a Hono app (Node, Bun, Deno,
 * Cloudflare Workers) into PacSpace's Balance API; `meterFetch` does the same for a plain fetch
 * handler (also at `@pacspace-metering/hono/fetch`, which needs no Hono).
 *
 * @example
 * import { Hono } from 'hono';
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterRequests } from '@pacspace-metering/hono';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = new Hono();
 * app.use(meterRequests(meter, { customerId: (c) => c.req.header('x-account') }));
 */
export { meterRequests, HONO_OPTION_NAMES } from './middleware.js';
export type { MeterRequestsOptions } from './middleware.js';
export { routePattern } from './route.js';
export * from './fetch.js';
