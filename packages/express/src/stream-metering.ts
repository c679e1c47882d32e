import { createStreamUsage, customerIdOf, DeltaValidationError, NOTHING_TO_BILL, responseFinished, skipped, type Meter, type StreamUsage } from '@pacspace-metering/core';
import type { Request, Response } from 'express';
import { billingRequestId } from './request-id.js';
import { routePattern } from './route-pattern.js';

/**
 * Options of {@link meterStream}.
 *
 * @example
 * const options: MeterStreamOptions = { customerId: req.user.accountId, metadata: { model: 'small' } };
 */
export interface MeterStreamOptions {
  /** Who pays (a string or safe integer), or `NOTHING_TO_BILL`. */
  customerId: string | number | typeof NOTHING_TO_BILL;
  /** Metadata of each delta; `route`, `method`, `stream` and `units` are added. */
  metadata?: Record<string, unknown> | undefined;
  /** The amount billed for `units` units of a reason. Default: `-units`. */
  deltaOf?: ((reason: string, units: number) => number) | undefined;
}

/**
 * The part of a stream's meter a handler uses: count units as they are written.
 *
 * @example
 * const usage: StreamCounter = meterStream(meter, req, res, { customerId: 'acme' });
 * usage.add('output_tokens', 12);
 */
export interface StreamCounter {
  /** Adds `units` (finite, ≥ 0) of `reason` once they are written. Ignored once the response closed. */
  add(reason: string, units: number): void;
  /** Units counted so far, per reason. */
  readonly units: Readonly<Record<string, number>>;
}

/**
 * Bills an SSE or chunked response by what it delivered: the handler counts units as it writes
 * them, and when the response closes, one delta per reason is billed once, under
 * `{scope}:{reason}:{customerId}:{requestId}` (the request's billing id, see
 * {@link billingRequestId}), with `metadata.stream` `'ended'` (the handler ended it) or
 * `'aborted'` (the client went away first: what was sent is billed). Nothing is billed when the
 * handler failed before streaming (no headers sent, or an error status: a 4xx/5xx answer), nor for
 * a reason with 0 units. Works with or without `meterRequests` on the route; when both
 * bill, use different reasons.
 *
 * @example
 * app.get('/v1/stream', (req, res) => {
 *   const usage = meterStream(meter, req, res, { customerId: req.header('x-customer-id')! });
 *   res.writeHead(200, { 'content-type': 'text/event-stream' });
 *   for (const token of ['Hello', ' world']) {
 *     res.write(`data: ${token}\n\n`);
 *     usage.add('output_tokens', 1);
 *   }
 *   res.end();
 * });
 */
export function meterStream(meter: Meter, req: Request, res: Response, options: MeterStreamOptions): StreamCounter {
  if (options === null || typeof options !== 'object') throw new DeltaValidationError('options', 'must be an object { customerId, metadata?, deltaOf? }');
  const requestId = billingRequestId(req, res);
  const customerId = customerIdOf(options.customerId);
  const route = routePattern(req);
  // Built in one shape (no spreads of optional parts): one is made per streamed response.
  const base: Record<string, unknown> = route === undefined ? { method: req.method } : { route, method: req.method };
  const metadata = options.metadata === undefined ? base : { ...base, ...options.metadata };
  const usage: StreamUsage = createStreamUsage(meter, { customerId: customerId as string, requestId, metadata, deltaOf: options.deltaOf });
  res.on('close', () => {
    // Nothing left the server, or only an error answer (the handler failed before streaming):
    // nothing to bill, nothing lost. A stream cut after a success status keeps what it sent.
    if (!res.headersSent || res.statusCode >= 400) return usage.cancel();
    if (customerId === NOTHING_TO_BILL) {
      usage.cancel();
      return void skipped(meter, 'nothing_to_bill', { requestId });
    }
    if (responseFinished(res)) usage.end();
    else usage.abort();
  });
  // The stream's meter itself (a class instance): end/abort stay with the response's close.
  return usage;
}
