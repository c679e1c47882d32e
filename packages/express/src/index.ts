/**
 * @pacspace-metering/express: bill every successful Express request into PacSpace's Balance API.
 *
 * @example
 * import express from 'express';
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterRequests } from '@pacspace-metering/express';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = express();
 * app.use(meterRequests(meter, { customerId: (req) => req.user?.accountId }));
 */
import { meterRequests } from './middleware.js';

export { meterRequests };
export { meterNow } from './meter-now.js';
export type { MeterNowInput } from './meter-now.js';
export { MIDDLEWARE_OPTION_NAMES } from './options.js';
export type { MeterRequestsOptions } from './options.js';
export { routePattern } from './route-pattern.js';
export { getRequestId } from './request-id.js';
export { ResolverError } from './delta-input.js';
export { requireBalance } from './require-balance.js';
export type { RequireBalanceOptions } from './require-balance.js';
export { correctRequest } from './correct-request.js';
export type { CorrectRequestInput } from './correct-request.js';
export default meterRequests;
