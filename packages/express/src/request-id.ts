import { REQUEST_ID_KEY, resolveRequestId, type DeltaValidationError, type RequestIdOptions } from '@pacspace-metering/core';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';

/** Where the id a request is billed under is kept: core's key, which the Nest guard reads too. */
const REQUEST_ID: typeof REQUEST_ID_KEY = REQUEST_ID_KEY;
/** Where the error of a `requestId` resolver that threw (or returned a Promise) is kept, next to the id. */
const REQUEST_ID_FAILURE = Symbol.for('pacspace-metering.request-id-failure');

export interface Holder {
  id?: unknown;
  [REQUEST_ID]?: string;
  [REQUEST_ID_FAILURE]?: DeltaValidationError;
}

/**
 * The id this request is billed under, resolved once per request: the first metering middleware
 * (or `meterNow`) that sees the request picks it, everyone after reuses it, so two meters on one
 * request build the same referenceId. Order: `options.requestId(req)`, `req.id` when trusted, the
 * trusted header, a fresh UUID (see core's `resolveRequestId`). Kept in `holder` (from
 * {@link stateOf}); when the `requestId` resolver failed, so is its error ({@link requestIdFailureOf}).
 */
export function requestIdOf(req: Request, holder: Holder, options: RequestIdOptions<Request>): string {
  const held = holder[REQUEST_ID];
  if (held !== undefined) return held;
  // The common case (nothing configured) is a UUID: skip the look-ups, req.id is not even read.
  if (options.requestId === undefined && options.requestIdHeader === undefined && !options.trustUpstreamId) return (holder[REQUEST_ID] = randomUUID());
  const { id, error } = resolveRequestId(req, options);
  if (error !== undefined) holder[REQUEST_ID_FAILURE] = error;
  return (holder[REQUEST_ID] = id);
}

/**
 * Why this request's id could not be resolved (its `requestId` resolver threw or returned a
 * Promise), or `undefined`. Such a request is refused rather than billed under a random id.
 */
export function requestIdFailureOf(holder: Holder): DeltaValidationError | undefined {
  return holder[REQUEST_ID_FAILURE];
}

/**
 * Where per-request metering state lives: `res.locals`, a dictionary Express creates for every
 * request. Adding properties to Express's `req` itself was measured to slow every request. Pass
 * `res` when you have it: every property read on Express's `req`/`res` costs a lookup that V8
 * cannot cache (their hidden classes differ from one request to the next).
 */
export function stateOf(req: Request, res: Response | undefined = req.res): Holder {
  return ((res?.locals as unknown) ?? req) as Holder;
}

/**
 * Returns the id a request is billed under (the last segment of its referenceIds), once
 * `meterRequests()` or `meterNow()` has seen the request; otherwise `undefined`. Handy for logs
 * and support tickets (`responseHeader: 'x-request-id'` also echoes it to the client).
 *
 * @example
 * app.get('/v1/reports/:id', (req, res) => {
 *   logger.info({ requestId: getRequestId(req) }, 'report served');
 *   res.json(report);
 * });
 */
export function getRequestId(req: Request): string | undefined {
  return stateOf(req)[REQUEST_ID];
}

/**
 * The id this request is (or would be) billed under, for handler code that bills by hand
 * (`meterOperation`, `meter.emit` with the same `requestId`, a stream): the one the metering
 * middleware chose, also on routes its `skip` leaves unmetered; when no metering middleware saw
 * the request, a fresh UUID, kept for the rest of the request so every later call agrees.
 *
 * @example
 * app.post('/v1/exports', (req, res) => {
 *   meter.enqueue({ customerId: req.user.id, delta: -10, reason: 'export', requestId: billingRequestId(req, res) });
 *   res.status(202).end();
 * });
 */
export function billingRequestId(req: Request, res?: Response): string {
  const holder = stateOf(req, res);
  return holder[REQUEST_ID] ?? (holder[REQUEST_ID] = randomUUID());
}
