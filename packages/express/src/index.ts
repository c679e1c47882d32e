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
export { billingRequestId, getRequestId } from './request-id.js';
export { recordResult, resultOf } from './handler-result.js';
export { meteredRoute } from './metered-route.js';
export type { ResultHandler } from './metered-route.js';
export { meterStream } from './stream-metering.js';
export type { MeterStreamOptions, StreamCounter } from './stream-metering.js';
export { NOTHING_TO_BILL } from '@pacspace-metering/core';
export type { NothingToBill, UsageDelta } from '@pacspace-metering/core';
export { ResolverError } from './delta-input.js';
export { requireBalance } from './require-balance.js';
export type { RequireBalanceOptions } from './require-balance.js';
export { correctRequest } from './correct-request.js';
export type { CorrectRequestInput } from './correct-request.js';
export default meterRequests;
