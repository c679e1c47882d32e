// Issue 24, "Must show": the Hono adapter passes the mixed-traffic suite on Bun and Deno (their own
// servers) and in a Cloudflare Worker (workerd, nodejs_compat): core loads there, the fetch
// transport delivers to the sandbox, and exactly the 2xx calls are billed, once each.
import { startOnRuntime } from './support/fetch-runtimes.js';
import { describeMixedTraffic } from './support/mixed-traffic.js';

describeMixedTraffic('Hono on Bun (Bun.serve)', { route: '/v1/reports/:id', start: (options) => startOnRuntime('bun', options) });
describeMixedTraffic('Hono on Deno (Deno.serve)', { route: '/v1/reports/:id', start: (options) => startOnRuntime('deno', options) });
describeMixedTraffic('Hono in a Cloudflare Worker (workerd, nodejs_compat)', { route: '/v1/reports/:id', start: (options) => startOnRuntime('workerd', options) });
