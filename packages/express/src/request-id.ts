import { resolveRequestId, type RequestIdOptions } from '@pacspace-metering/core';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';

/** Where the id a request is billed under is kept; `Symbol.for` so every copy of this package agrees. */
const REQUEST_ID = Symbol.for('pacspace-metering.request-id');

export interface Holder {
  id?: unknown;
  [REQUEST_ID]?: string;
}

/**
 * The id this request is billed under, resolved once per request: the first metering middleware
 * (or `meterNow`) that sees the request picks it, everyone after reuses it, so two meters on one
 * request build the same referenceId. Order: `options.requestId(req)`, `req.id`, the trusted
 * header, a fresh UUID (see core's `resolveRequestId`). Kept in `holder` (from {@link stateOf}).
 */
export function requestIdOf(req: Request, holder: Holder, options: RequestIdOptions<Request>): string {
  const held = holder[REQUEST_ID];
  if (held !== undefined) return held;
  const upstream = (req as unknown as Holder).id;
  const fresh = upstream === undefined || upstream === null;
  // The common case (no option, no trusted header, no upstream id) is a UUID: skip the look-ups.
  const id = fresh && options.requestId === undefined && options.requestIdHeader === undefined ? randomUUID() : resolveRequestId(req, options).id;
  holder[REQUEST_ID] = id;
  return id;
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
 * and support tickets: it is also echoed in the `x-request-id` response header by default.
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
