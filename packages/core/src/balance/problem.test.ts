import { BalanceCheck } from './balance-check.js';
import { PROBLEM_TYPES, refusalAnswer } from './problem.js';

describe('refusalAnswer', () => {
  const insufficient = new BalanceCheck(false, 'insufficient_balance', 'acme', 2, 0.5);
  const unavailable = new BalanceCheck(false, 'balance_unavailable', 'acme', 2, null);

  it('answers 402 problem+json with the balance and the price, and 503 with Retry-After', () => {
    const answer = refusalAnswer(insufficient, undefined, () => undefined);
    expect(answer.status).toBe(402);
    expect(answer.headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(JSON.parse(answer.body)).toEqual({
      type: PROBLEM_TYPES.insufficientBalance,
      title: 'Insufficient balance',
      status: 402,
      detail: 'The balance of customer acme (0.5) does not cover the price of this call (2).',
      customerId: 'acme',
      balance: 0.5,
      price: 2,
    });
    const down = refusalAnswer(unavailable, undefined, () => undefined);
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(JSON.parse(down.body)).toMatchObject({ type: PROBLEM_TYPES.balanceUnavailable, status: 503, balance: null });
  });

  it("lets the app's hook shape the body and the status; a hook that throws or returns junk leaves the default, reported", () => {
    const shaped = refusalAnswer(insufficient, (p) => ({ type: p.type, status: 403, message: 'Top up at https://example.com' }), () => undefined);
    expect(shaped.status).toBe(403);
    expect(JSON.parse(shaped.body)).toEqual({ type: PROBLEM_TYPES.insufficientBalance, status: 403, message: 'Top up at https://example.com' });
    const errors: unknown[] = [];
    for (const hook of [() => {
      throw new Error('boom');
    }, () => 'text' as never, () => {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      return cycle;
    }]) {
      const answer = refusalAnswer(insufficient, hook, (err) => errors.push(err));
      expect(answer.status).toBe(402);
      expect(JSON.parse(answer.body)).toMatchObject({ title: 'Insufficient balance' });
    }
    expect(errors).toHaveLength(3);
  });
});
