import { isPlainObject, rejectUnknownKeys, SandboxConfigError } from './config-error.js';
import type { Ledger, LedgerDelta } from './ledger.js';
import { CUSTOMER_ID_PATTERN, MAX_ABS_DELTA, MAX_REASON_LENGTH } from './validation.js';

/**
 * A top-up (or, with a negative amount, a debit) made from the sandbox itself: the page, the
 * command line or `sandbox.topUp()`, for testing a balance gate.
 *
 * @example
 * const topUp: TopUp = { customerId: 'acme', amount: 10 };
 */
export interface TopUp {
  customerId: string;
  /** Non-zero, within ±1e9: positive adds to the balance, negative takes from it. */
  amount: number;
  /** Default `'top_up'` (`'adjustment'` for a negative amount). */
  reason?: string | undefined;
}

/**
 * Commits a top-up as a delta, as if the app's own billing had sent it: it goes through the
 * lifecycle (`QUEUED`, `PROCESSING`, then `VERIFIED` at the configured pace), so derive counts it
 * once it is VERIFIED, exactly as PacSpace would. No fault applies, and no request is logged: it
 * is not API traffic. referenceId `sandbox:top_up:{n}`, metadata `{ source: 'sandbox' }`. Throws
 * {@link SandboxConfigError} naming the bad field.
 *
 * @example
 * topUp(state.ledger, { customerId: 'acme', amount: 10 }, Date.now());
 */
export function topUp(ledger: Ledger, input: unknown, now: number): LedgerDelta {
  if (!isPlainObject(input)) throw new SandboxConfigError('topUp', 'an object with customerId and amount', input);
  rejectUnknownKeys(input, ['customerId', 'amount', 'reason'], 'topUp');
  const { customerId, amount, reason } = input;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) {
    throw new SandboxConfigError('topUp.customerId', '1-128 characters of letters, digits, _ . : -', customerId);
  }
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount === 0 || Math.abs(amount) > MAX_ABS_DELTA) {
    throw new SandboxConfigError('topUp.amount', `a finite, non-zero number from -${MAX_ABS_DELTA} to ${MAX_ABS_DELTA}`, amount);
  }
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON_LENGTH)) {
    throw new SandboxConfigError('topUp.reason', `a non-empty string of at most ${MAX_REASON_LENGTH} characters`, reason);
  }
  const stored = ledger.commit(
    {
      customerId,
      delta: amount,
      reason: reason ?? (amount > 0 ? 'top_up' : 'adjustment'),
      referenceId: `sandbox:top_up:${ledger.allDeltas().length + 1}`,
      metadata: { source: 'sandbox' },
      adjusts: null,
    },
    { idempotencyKey: null, now, adjusts: null, failure: null },
  );
  return ledger.view(stored, now);
}
