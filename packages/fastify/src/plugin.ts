import { MeteringConfigError, onResponseCompleted } from '@pacspace-metering/core';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { bill, decide } from './bill.js';
import type { FastifyMeteringOptions } from './options.js';
import { STATE, requestIdOf, stateOf, type IdRules } from './request-state.js';
import { RouteTable } from './route-table.js';
import { resolvePluginSettings, type PluginSettings } from './settings.js';

/**
 * The plugin's body: checks the options, declares the request decorator and adds two hooks to
 * the scope it is registered in: `onRoute` (checks each route's `config.metering` as it is
 * declared) and `onRequest` (the per-request work).
 */
function meteringPlugin(fastify: FastifyInstance, options: FastifyMeteringOptions, done: (err?: Error) => void): void {
  let settings: PluginSettings;
  try {
    settings = resolvePluginSettings(options);
  } catch (err) {
    done(err as Error);
    return;
  }
  const { meter, skip, responseHeader } = settings;
  const routes = new RouteTable(settings.defaults);
  const rules: IdRules | undefined = settings.requestId === undefined && settings.requestIdHeader === undefined && !settings.trustUpstreamId
    ? undefined
    : { requestId: settings.requestId, trustUpstreamId: settings.trustUpstreamId, requestIdHeader: settings.requestIdHeader, instanceId: randomBytes(6).toString('hex') };
  // A durable store keeps what it accepts through a crash: accept when the reply is ended, before
  // its bytes leave, so a SIGKILL after the answer cannot lose the delta.
  const acceptAtEnd = meter.durable === true;

  // A second registration in a child scope finds the decorator already declared by its parent.
  if (!fastify.hasRequestDecorator(STATE)) fastify.decorateRequest(STATE, null);
  fastify.addHook('onRoute', (route) => routes.register(route));
  fastify.addHook('onRequest', function meterRequest(request, reply, next) {
    // One read of Fastify's routeOptions (a getter that builds an object) per request.
    const { url, config } = request.routeOptions;
    const route = routes.lookup(config?.metering, url);
    if (route === null || (skip !== undefined && decide(meter, 'skip', skip, request, undefined) !== false)) return next();
    const state = stateOf(request);
    const requestId = requestIdOf(request, state, rules);
    if (responseHeader !== undefined) reply.header(responseHeader, requestId);
    // On reply.raw, Node's own response: 'close' after 'finish' bills (core's onResponseCompleted),
    // 'close' alone is an abort; with a durable store, the delta is accepted as the reply is ended.
    onResponseCompleted(reply.raw, acceptAtEnd, () => {
      if (!(route instanceof MeteringConfigError)) return bill(meter, route, request, reply, url, requestId, state);
      // A route declared before the plugin was loaded, with a config that cannot work: refused, reported.
      if (reply.raw.statusCode < 400) meter.refuse(route);
      return undefined;
    });
    next();
  });
  done();
}

/**
 * Fastify plugin (Fastify 5, and 4.23+) that bills every successful request into PacSpace's
 * Balance API through a Meter: one delta per request (per reason), queued in the background once
 * the response has **finished** with a success status.
 *
 * It meters the scope it is registered in and that scope's children: it comes wrapped the way
 * `fastify-plugin` wraps plugins (skip-override), so `app.register(fastifyMetering, ...)` meters
 * the whole app, and registering it inside a prefixed plugin meters only that plugin's routes.
 * Routes declared before or after the registration are metered alike.
 *
 * Per request (an `onRequest` hook): the route's settings (compiled once per route), `skip`, the
 * request id (kept on the request; echoed in a response header only when `responseHeader` names
 * one), and one `close` listener on `reply.raw`. When the response closes after being fully
 * written and `isSuccess` holds (default: status < 400), the resolvers run and `meter.enqueue()` queues
 * `{ customerId, delta, reason, metadata: { route, method } }` under the referenceId
 * `{scope}:{reason}:{customerId}:{requestId}`, where `route` is the route pattern from Fastify's
 * route config (`request.routeOptions.url`, e.g. `/v1/reports/:id`), never the raw URL. Nothing is
 * billed for 4xx/5xx answers, thrown or rejected handlers (Fastify answers them with an error
 * status), or clients that go away before the response is written (`close` without `finish`).
 *
 * With a durable store (`meter.durable`, e.g. `createSqliteStore`), the delta is accepted when the
 * reply is ended, before its bytes leave: a crash between the answer and `finish` then loses
 * nothing. A request whose client was already gone when the reply was ended is not billed.
 *
 * A request metered by two registrations (a parent scope and a child scope), or by a registration
 * and {@link meterNow}, with the same reason and customer is billed once; with different reasons,
 * once per reason. Resolver errors never change the response: the meter refuses the delta,
 * counts it in `stats().dropped.invalid` and reports it through `onDrop` and `onError`.
 *
 * Options: see {@link FastifyMeteringOptions}; `meter` and `customerId` are required. Defaults:
 * `delta` -1, `reason` `'api_request'`, `isSuccess` status < 400, no `skip`, `request.id` and
 * request-id headers not trusted, no `responseHeader` (no echo). A route overrides `customerId`,
 * `delta`, `reason`, `metadata` and `isSuccess` in its config (`config: { metering: {...} }`), or
 * opts out with `config: { metering: false }`. A bad option fails the registration with a
 * `MeteringConfigError` naming it; a bad route config fails the route's declaration (or, for a
 * route declared before the plugin was loaded, refuses that route's deltas, reported).
 *
 * @example
 * import Fastify from 'fastify';
 * import { createMeter } from '@pacspace-metering/core';
 * import { fastifyMetering } from '@pacspace-metering/fastify';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = Fastify();
 * await app.register(fastifyMetering, { meter, customerId: (request) => request.headers['x-account'] as string });
 * app.get('/v1/reports/:id', async (request) => ({ id: (request.params as { id: string }).id }));
 * app.post('/v1/reports', { config: { metering: { reason: 'report_generated', delta: -5 } } }, async () => ({ ok: true }));
 */
export const fastifyMetering: FastifyPluginCallback<FastifyMeteringOptions> = Object.assign(meteringPlugin, {
  // What fastify-plugin would set: no encapsulation of its own (the hooks land in the registering
  // scope), a name for Fastify's messages, and the Fastify majors it supports.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@pacspace-metering/fastify',
  [Symbol.for('plugin-meta')]: { name: '@pacspace-metering/fastify', fastify: '4.x || 5.x' },
});
