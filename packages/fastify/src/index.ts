/**
 * @pacspace-metering/fastify: bill every successful Fastify request into PacSpace's Balance API.
 *
 * @example
 * import Fastify from 'fastify';
 * import { createMeter } from '@pacspace-metering/core';
 * import { fastifyMetering } from '@pacspace-metering/fastify';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = Fastify();
 * await app.register(fastifyMetering, { meter, customerId: (request) => request.headers['x-account'] as string });
 */
import { fastifyMetering } from './plugin.js';

export { fastifyMetering };
export { meterNow } from './meter-now.js';
export type { MeterNowInput } from './meter-now.js';
export { PLUGIN_OPTION_NAMES, ROUTE_OPTION_NAMES } from './options.js';
export type { FastifyMeteringOptions, RouteMeteringOptions } from './options.js';
export { getRequestId } from './request-state.js';
export default fastifyMetering;
