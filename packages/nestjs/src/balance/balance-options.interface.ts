import type { ExecutionContext } from '@nestjs/common';
import type { BalanceGateOptions, BalanceProblem } from '@pacspace-metering/core';
import type { CustomerIdResolver } from '../module/resolver.types.js';

/**
 * What a gated call costs, from the request: a number ≥ 0 in the units it is billed (a route billed
 * `delta: -5` costs 5). Synchronous; one that throws, returns a Promise or a bad number makes the
 * call fail with a 500 (the gate counts it as `invalid`), never served unchecked.
 *
 * @example
 * const price: PriceResolver = (req) => (req.body?.pages ?? 1) * 2;
 * @publicApi
 */
export type PriceResolver<Req = any> = (req: Req, context: ExecutionContext) => number;

/**
 * Shapes a refused call's `application/problem+json` body: gets the problem (`type`, `title`,
 * `status`, `detail`, `customerId`, `balance`, `price`), returns the body to send; a `status` member
 * sets the HTTP status.
 *
 * @example
 * const problem: ProblemShaper = (p) => ({ ...p, topUpUrl: 'https://example.com/billing' });
 * @publicApi
 */
export type ProblemShaper<Req = any> = (problem: BalanceProblem, req: Req) => Record<string, unknown>;

/**
 * The module's `balance` option: the gate's options (`ttlMs`, `whenUnavailable`, ...) and the
 * defaults of every gated route.
 *
 * @example
 * MeteringModule.forRoot({ customerId: (req) => req.user.id, balance: { price: 1, whenUnavailable: 'refuse' } })
 * @publicApi
 */
export interface MeteringBalanceOptions<Req = any> extends BalanceGateOptions {
  /** Default price of a gated route: a number ≥ 0 or a {@link PriceResolver}. Default: `1`. */
  price?: number | PriceResolver<Req> | undefined;
  /** Who pays for gated routes. Default: the module's `customerId`. */
  customerId?: CustomerIdResolver<Req> | undefined;
  /** See {@link ProblemShaper}. Default: the problem as it is. */
  problem?: ProblemShaper<Req> | undefined;
}

/**
 * Options of {@link RequireBalance}. Every field falls back to the module's `balance` option of the
 * same name.
 *
 * @example
 * @RequireBalance({ price: (req) => req.body.pages, customerId: (req) => req.tenant.id })
 * @publicApi
 */
export interface RequireBalanceOptions<Req = any> {
  price?: number | PriceResolver<Req> | undefined;
  customerId?: CustomerIdResolver<Req> | undefined;
}
