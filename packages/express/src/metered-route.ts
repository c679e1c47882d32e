import type { Meter } from '@pacspace-metering/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { recordResult } from './handler-result.js';
import { meterRequests } from './middleware.js';
import type { MeterRequestsOptions } from './options.js';

/**
 * A handler whose result the billing reads: it returns (or resolves to) the result; when it has
 * not sent a response itself, the result is sent as JSON.
 *
 * @example
 * const handler: ResultHandler<Completion> = async (req) => complete(req.body);
 */
export type ResultHandler<Result, Req extends Request = Request, Res extends Response = Response> = (req: Req, res: Res) => Result | Promise<Result>;

/**
 * A metered route whose resolvers are typed by the handler's result: `handler` comes first so
 * TypeScript infers `Result` from what it returns, and a resolver reading a field the result does
 * not have (`result.usage.token`) does not compile. Returns `[meterRequests(meter, options),
 * handler]` for `app.post(path, ...meteredRoute(...))`. The handler's result is recorded before
 * its response is sent (so a durable store's accept-at-end sees it), then sent as JSON unless the
 * handler answered itself; a handler that throws or rejects goes to `next(err)` and bills nothing.
 *
 * @example
 * app.post('/v1/completions', ...meteredRoute(meter, async (req) => complete(req.body), {
 *   customerId: (req) => req.header('x-customer-id'),
 *   deltas: (req, res, result) => [
 *     { reason: 'input_tokens', delta: -result.usage.inputTokens },
 *     { reason: 'output_tokens', delta: result.cached ? NOTHING_TO_BILL : -result.usage.outputTokens },
 *   ],
 * }));
 */
export function meteredRoute<Result, Req extends Request = Request, Res extends Response = Response>(
  meter: Meter,
  handler: ResultHandler<Result, Req, Res>,
  options: MeterRequestsOptions<Req, Res, Result>,
): [RequestHandler, RequestHandler] {
  const middleware = meterRequests(meter, options as MeterRequestsOptions<Req, Res>);
  const route = (req: Request, res: Response, next: NextFunction): void => {
    let answer: Result | Promise<Result>;
    try {
      answer = handler(req as Req, res as Res);
    } catch (err) {
      next(err);
      return;
    }
    Promise.resolve(answer).then((result) => {
      recordResult(res, result);
      if (!res.headersSent && !res.writableEnded) res.json(result);
    }, next);
  };
  return [middleware, route];
}
