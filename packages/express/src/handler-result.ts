import type { Response } from 'express';

/** Where a handler's result is kept on `res.locals`; `Symbol.for` so every copy of this package agrees. */
const RESULT = Symbol.for('pacspace-metering.handler-result');

type ResultHolder = { [RESULT]?: unknown };

/**
 * Hands the handler's result (token counts, pages rendered) to the metering middleware: its
 * resolvers get it as their third argument. Call it before sending the response when the Meter
 * has a durable store (the delta is accepted as the response is ended); otherwise any time
 * before the response closes. A later call replaces an earlier one.
 *
 * @example
 * app.post('/v1/completions', meterRequests(meter, { customerId, deltas: (req, res, result: Completion) => [...] }), (req, res) => {
 *   const completion = complete(req.body);
 *   recordResult(res, completion);
 *   res.json(completion);
 * });
 */
export function recordResult<Result>(res: Response, result: Result): Result {
  (res.locals as ResultHolder)[RESULT] = result;
  return result;
}

/**
 * The result a handler recorded for this response (see {@link recordResult}), or `undefined`.
 *
 * @example
 * const completion = resultOf<Completion>(res);
 */
export function resultOf<Result = unknown>(res: Response): Result | undefined {
  return (res.locals as ResultHolder | undefined)?.[RESULT] as Result | undefined;
}
