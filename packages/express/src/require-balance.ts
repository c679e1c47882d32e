import { customerIdOf, DeltaValidationError, isUnbilledOptionsRequest, MeteringConfigError, refusalAnswer, thenableError, type BalanceCheck, type BalanceGate, type BalanceProblem } from '@pacspace-metering/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Options of {@link requireBalance}.
 *
 * @example
 * const options: RequireBalanceOptions = { customerId: (req) => req.user?.accountId, price: 5 };
 */
export interface RequireBalanceOptions<Req extends Request = Request, Res extends Response = Response> {
  /** Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`, or a safe integer. Required; synchronous. */
  customerId: (req: Req, res: Res) => string | number | null | undefined;
  /**
   * What the call costs, in the units it is billed (a route billed `delta: -5` costs 5): a number
   * ≥ 0, or a synchronous `(req, res) => number`. Default `1` (the middleware's default delta is -1).
   */
  price?: number | ((req: Req, res: Res) => number) | undefined;
  /**
   * Shapes the refusal's body: gets the RFC 9457 problem (`type`, `title`, `status`, `detail`,
   * `customerId`, `balance`, `price`) and returns the body to send as `application/problem+json`;
   * a `status` member there sets the HTTP status. Default: the problem as it is.
   */
  problem?: ((problem: BalanceProblem, req: Req) => Record<string, unknown>) | undefined;
  /** `true` lets the request through unchecked (health checks, free routes). Default: none. */
  skip?: ((req: Req) => boolean) | undefined;
}

/**
 * Express middleware that serves a call only when its customer's balance covers its price, before
 * the handler runs; otherwise it answers **402** with an `application/problem+json` body (the
 * balance and the price included), or **503** (with `Retry-After`) when PacSpace could not be
 * asked and the gate's `whenUnavailable` is `'refuse'`. An admitted call's price is reserved until
 * its response closes, so a burst of concurrent calls cannot all spend the same balance.
 *
 * CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) pass unchecked: the call
 * that follows them is checked. A `customerId` or `price` that cannot be checked (missing, invalid, thrown, a Promise) is passed
 * to `next(err)` as a `DeltaValidationError` naming it (Express answers 500): the call is neither
 * served unchecked nor refused as unpaid, and the gate counts it (`stats().invalid`).
 *
 * @param gate - from `createBalanceGate(meter)` of `@pacspace-metering/core`.
 * @param options - see {@link RequireBalanceOptions}; `customerId` is required.
 * @throws MeteringConfigError naming the option, for a bad option or a missing gate.
 *
 * @example
 * const gate = createBalanceGate(meter);
 * app.post('/reports', requireBalance(gate, { customerId: (req) => req.user?.accountId, price: 5 }),
 *   meterRequests(meter, { customerId: (req) => req.user?.accountId, reason: 'report_generated', delta: -5 }), createReport);
 */
export function requireBalance<Req extends Request = Request, Res extends Response = Response>(gate: BalanceGate, options: RequireBalanceOptions<Req, Res>): RequestHandler {
  const { customerId, price = 1, problem, skip } = checkOptions(gate, options);

  function answer(req: Request, res: Response, next: NextFunction, check: BalanceCheck): void {
    if (check.allowed) {
      if (check.price > 0) res.on('close', () => check.release());
      return next();
    }
    const shape = problem === undefined ? undefined : (body: BalanceProblem) => problem(body, req as Req);
    const { status, headers, body } = refusalAnswer(check, shape, (err) => gate.logger.error({ err }, 'pacspace-metering: the problem option of requireBalance() threw; the default problem was sent'));
    if (res.headersSent) return;
    res.status(status).set(headers).send(body);
  }

  return function requireBalanceMiddleware(req: Request, res: Response, next: NextFunction): void {
    // A CORS preflight carries no credentials and does no work: the call that follows is checked.
    if (isUnbilledOptionsRequest(req, true)) return next();
    let check: BalanceCheck | Promise<BalanceCheck>;
    try {
      if (skip !== undefined && resolved('skip', skip(req as Req)) === true) return next();
      const who = customerIdOf(resolved('customerId', customerId(req as Req, res as Res)));
      const cost = typeof price === 'number' ? price : resolved('price', price(req as Req, res as Res));
      check = gate.check(who as string, cost as number);
    } catch (err) {
      return next(err instanceof DeltaValidationError ? err : new DeltaValidationError('requireBalance', `a resolver threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    }
    // A Promise only when the gate waits for PacSpace (no usable balance cached).
    if (check instanceof Promise) check.then((c) => answer(req, res, next, c), next);
    else answer(req, res, next, check);
  };
}

/** A resolver's value, unless it is a Promise (refused naming the option: resolvers are synchronous). */
function resolved(option: string, value: unknown): unknown {
  const error = thenableError(value, option);
  if (error !== undefined) throw error;
  return value;
}

function checkOptions<Req extends Request, Res extends Response>(gate: BalanceGate, options: RequireBalanceOptions<Req, Res>): RequireBalanceOptions<Req, Res> {
  if (gate === null || typeof gate !== 'object' || typeof (gate as Partial<BalanceGate>).check !== 'function') {
    throw new MeteringConfigError('gate', 'must be a balance gate from createBalanceGate(meter)');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object with customerId');
  if (typeof options.customerId !== 'function') throw new MeteringConfigError('customerId', 'is required: (req, res) => the customer id');
  const { price } = options;
  if (price !== undefined && typeof price !== 'function' && (typeof price !== 'number' || !Number.isFinite(price) || price < 0)) {
    throw new MeteringConfigError('price', `must be a finite number of at least 0, or (req, res) => number (got ${String(price)})`);
  }
  for (const name of ['problem', 'skip'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new MeteringConfigError(name, 'must be a function');
  }
  for (const name of Object.keys(options)) {
    if (!['customerId', 'price', 'problem', 'skip'].includes(name)) throw new MeteringConfigError(name, 'is not an option; allowed: customerId, price, problem, skip');
  }
  return options;
}
