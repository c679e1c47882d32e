import type { BalanceCheck } from './balance-check.js';

/**
 * The `type` URIs of the two refusals, each a section of this package's README that explains it.
 *
 * @example
 * if (body.type === PROBLEM_TYPES.insufficientBalance) showTopUpDialog();
 */
export const PROBLEM_TYPES = Object.freeze({
  insufficientBalance: 'https://github.com/pacspace/pacspace-metering/tree/main/packages/core#insufficient-balance',
  balanceUnavailable: 'https://github.com/pacspace/pacspace-metering/tree/main/packages/core#balance-unavailable',
});

/** Seconds a 503 `balance_unavailable` answer suggests waiting (`Retry-After`). */
export const BALANCE_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * An RFC 9457 problem details body for a refused call (served as `application/problem+json`):
 * 402 when the balance does not cover the price, 503 when PacSpace could not be asked
 * (`whenUnavailable: 'refuse'`). `balance` is what the gate saw (null when unknown); `price` what
 * the call costs. The framework packages let the app reshape it (their `problem` option); a
 * `status` member there sets the HTTP status.
 *
 * @example
 * // HTTP/1.1 402 Payment Required
 * // Content-Type: application/problem+json
 * const body: BalanceProblem = {
 *   type: PROBLEM_TYPES.insufficientBalance, title: 'Insufficient balance', status: 402,
 *   detail: 'The balance of customer acme (0.5) does not cover the price of this call (1).',
 *   customerId: 'acme', balance: 0.5, price: 1,
 * };
 */
export interface BalanceProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  customerId: string;
  balance: number | null;
  price: number;
  [extension: string]: unknown;
}

/**
 * The problem details of a refused check (see {@link BalanceProblem}).
 *
 * @example
 * if (!check.allowed) res.status(402).type('application/problem+json').send(JSON.stringify(balanceProblem(check)));
 */
export function balanceProblem(check: BalanceCheck): BalanceProblem {
  const { customerId, price, balance } = check;
  if (check.reason === 'balance_unavailable') {
    return {
      type: PROBLEM_TYPES.balanceUnavailable,
      title: 'Balance unavailable',
      status: 503,
      detail: `The balance of customer ${customerId} could not be checked just now; try again in a few seconds.`,
      customerId,
      balance: null,
      price,
    };
  }
  return {
    type: PROBLEM_TYPES.insufficientBalance,
    title: 'Insufficient balance',
    status: 402,
    detail: `The balance of customer ${customerId} (${balance ?? 'unknown'}) does not cover the price of this call (${price}).`,
    customerId,
    balance,
    price,
  };
}

/**
 * The status, headers and body to answer a refused call with: the problem from {@link balanceProblem},
 * reshaped by the app's `shape` hook when given (its `status` member sets the status; a hook that
 * throws or returns no object leaves the default, and the error is handed to `onHookError`).
 *
 * @example
 * const { status, headers, body } = refusalAnswer(check, undefined, () => undefined);
 */
export function refusalAnswer(
  check: BalanceCheck,
  shape: ((problem: BalanceProblem) => Record<string, unknown>) | undefined,
  onHookError: (err: unknown) => void,
): { status: number; headers: Record<string, string>; body: string } {
  const problem = balanceProblem(check);
  let body: Record<string, unknown> = problem;
  if (shape !== undefined) {
    try {
      const shaped = shape(problem);
      if (shaped !== null && typeof shaped === 'object') body = shaped;
      else throw new TypeError('the problem hook must return an object (the problem body)');
    } catch (err) {
      onHookError(err);
    }
  }
  const status = typeof body.status === 'number' && Number.isInteger(body.status) && body.status >= 400 && body.status <= 599 ? body.status : problem.status;
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (status === 503) headers['retry-after'] = String(BALANCE_UNAVAILABLE_RETRY_AFTER_SECONDS);
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    onHookError(err);
    text = JSON.stringify(problem);
  }
  return { status, headers, body: text };
}
