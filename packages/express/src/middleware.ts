import { claimOnce, customerIdOf, isUnbilledOptionsRequest, onResponseCompleted, responseFinished, type Meter } from '@pacspace-metering/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decide, deltaInput, enqueueSafely, mergeMetadata, reportUndecidable, resolveField as resolve } from './delta-input.js';
import { resolveMiddlewareConfig, type MeterRequestsOptions } from './options.js';
import { requestIdFailureOf, requestIdOf, stateOf, type Holder } from './request-id.js';
import { resultOf } from './handler-result.js';
import { settleDeltas } from './settle-deltas.js';

/**
 * Express middleware that bills every successful request into PacSpace's Balance API through a
 * Meter: one delta per request (per reason), queued in the background once the response has
 * **finished** with a success status. Use it app-wide (`app.use`) or per route.
 *
 * `OPTIONS` requests are not billed: a CORS preflight never, any other one only with
 * `meterOptionsRequests: true`. `HEAD` is billed like `GET` (Express runs the `GET` handler).
 *
 * On entry, synchronously (before `next()`): `skip`, the request id (kept in `res.locals`, never
 * written to `req`; echoed in a response header only when `responseHeader` names one), and one
 * `close` listener on the response. When the response closes after being fully written (`finish`
 * happened) and `isSuccess` holds (default: status < 400), the resolvers run and
 * `meter.enqueue()` queues `{ customerId, delta, reason, metadata }` under the referenceId
 * `{scope}:{reason}:{customerId}:{requestId}`. Nothing is billed when the client goes
 * away first (`close` without `finish`), or for 4xx/5xx answers, thrown errors, `next(err)` and
 * rejected async handlers (Express turns those into error responses).
 *
 * With a durable store (`meter.durable`, e.g. `createSqliteStore`), the delta is accepted when the
 * handler ends the response (`res.end()`, which `res.send`/`res.json` call), before its bytes
 * leave: a crash between the answer and `finish` then loses nothing. A request whose client was
 * already gone when the handler ended it is not billed; one abandoned by the client after that is
 * (the work was done and answered).
 *
 * A request that passes two of these middlewares (or a middleware and {@link meterNow}) with the
 * same reason and customer is billed once; with different reasons, once per reason. Resolver
 * errors never change the response: the meter refuses the delta, counts it in
 * `stats().dropped.invalid` and reports it through `onDrop` and `onError`. Resolvers are
 * synchronous: one that returns a Promise is refused the same way (its rejection handled), since
 * awaiting it would leave the delta neither accepted nor refused past the response, a shutdown or
 * a crash.
 *
 * @param meter - a Meter from `createMeter()` of `@pacspace-metering/core`.
 * @param options - see {@link MeterRequestsOptions}; `customerId` is required. Defaults:
 *   `delta` -1, `reason` `'api_request'`, `isSuccess` status < 400, no `skip`, no `OPTIONS`
 *   billed, `req.id` and request-id headers not trusted, no `responseHeader` (no echo).
 * @throws MeteringConfigError naming the option, for a bad option or a missing meter.
 *
 * @example
 * import express from 'express';
 * import { createMeter } from '@pacspace-metering/core';
 * import { meterRequests } from '@pacspace-metering/express';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const app = express();
 * app.use(authenticate);
 * app.use(meterRequests(meter, { customerId: (req) => req.user?.accountId }));
 * app.post('/reports', meterRequests(meter, { customerId: (req) => req.user?.accountId, reason: 'report_generated', delta: -5 }), createReport);
 */
export function meterRequests<Req extends Request = Request, Res extends Response = Response, Result = unknown>(
  meter: Meter,
  options: MeterRequestsOptions<Req, Res, Result>,
): RequestHandler {
  const config = resolveMiddlewareConfig(meter, options);
  const { customerId, delta, reason, metadata, isSuccess, skip, meterOptionsRequests, responseHeader } = config;
  const idOptions = { requestId: config.requestId, trustUpstreamId: config.trustUpstreamId, requestIdHeader: config.requestIdHeader };
  // A durable store keeps what it accepts through a crash: accept when the handler ends the
  // response, before its bytes leave, so a SIGKILL after the answer cannot lose the delta.
  const acceptAtEnd = meter.durable === true;

  /**
   * Runs once the response has finished (or, with a durable store, is being ended): decides,
   * resolves, claims, enqueues; answers the store's promise of durability, if any. Never throws.
   */
  function settle(req: Request, res: Response, requestId: string, state: Holder): Promise<unknown> | undefined {
    if (isSuccess === undefined ? res.statusCode >= 400 : decide(meter, 'isSuccess', isSuccess, req, res) !== true) return undefined;
    try {
      // What the handler handed over (recordResult, meteredRoute): the resolvers' third argument.
      const result = resultOf(res);
      if (config.deltas !== undefined) return settleDeltas(meter, config, req, res, requestId, state, result, idOptions.requestId === undefined ? undefined : requestIdFailureOf(state));
      const { input, claim } = deltaInput(
        meter,
        customerIdOf(resolve('customerId', customerId, req, res, result)),
        typeof delta === 'number' ? delta : resolve('delta', delta, req, res, result),
        typeof reason === 'string' ? reason : resolve('reason', reason, req, res, result),
        requestId,
        mergeMetadata(req, metadata === undefined ? undefined : resolve('metadata', metadata, req, res, result)),
      );
      if (claim !== undefined && !claimOnce(state, claim)) return undefined;
      // Only a `requestId` resolver can fail to give an id; without one there is nothing to look up.
      return enqueueSafely(meter, input, idOptions.requestId === undefined ? undefined : requestIdFailureOf(state));
    } catch (err) {
      // Only hostile values get here (a metadata Proxy whose traps throw): refuse, count, report.
      reportUndecidable(meter, 'metadata', err);
      return undefined;
    }
  }

  // Every property read on Express's req/res costs a lookup V8 cannot cache (their hidden classes
  // differ per request), so this reads as few as it can: the state holder once, no headersSent.
  return function meterRequestsMiddleware(req: Request, res: Response, next: NextFunction): void {
    // A CORS preflight is never a billable call, nor (by default) any other OPTIONS request.
    if (isUnbilledOptionsRequest(req, meterOptionsRequests)) return next();
    // A skip that cannot answer (threw, returned a Promise) leaves the request unmetered, reported.
    if (skip !== undefined && decide(meter, 'skip', skip, req, res) !== false) {
      // A skipped route keeps the id it would be billed under, for handler code that bills by hand.
      requestIdOf(req, stateOf(req, res), idOptions);
      return next();
    }
    const state = stateOf(req, res);
    const requestId = requestIdOf(req, state, idOptions);
    if (responseHeader !== undefined) echo(res, responseHeader, requestId);
    if (acceptAtEnd) {
      onResponseCompleted(res, true, () => settle(req, res, requestId, state));
      return next();
    }
    // 'close' follows 'finish' on every response and is the only event of an aborted one (core's
    // onResponseDone, inlined: one closure less per request). responseFinished, not
    // writableFinished alone: under serverless-http the latter never turns true.
    res.on('close', () => {
      if (responseFinished(res)) settle(req, res, requestId, state);
    });
    next();
  };
}

/** Sets the echo header, unless the headers are already out (a middleware in front answered). */
function echo(res: Response, header: string, requestId: string): void {
  try {
    res.setHeader(header, requestId);
  } catch {
    // ERR_HTTP_HEADERS_SENT: nothing to echo into; the request is still metered.
  }
}
