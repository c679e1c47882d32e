import type { DeriveScope } from '../client/client.js';
import { MeteringError, type PacSpaceApiError } from '../errors.js';
import type { MeterBalanceSource } from './balance-source.js';

/** What one derive answered: the balance, and whether PacSpace did not know the customer at all. */
export interface ReadBalance {
  balance: number;
  /** 404: PacSpace has no record of the customer; its balance is 0. */
  unknownCustomer: boolean;
}

/**
 * Reads a customer's derived balance (`computedBalance`; `balance` in older docs) through the
 * Meter's client. A 404 is a customer PacSpace has never seen: balance 0. Rejects with the
 * client's error otherwise, or `INVALID_RESPONSE` for an answer without a finite balance.
 *
 * @example
 * const { balance } = await readBalance(source, 'acme', lastTwelveMonths(Date.now()), 10_000);
 */
export async function readBalance(source: MeterBalanceSource, customerId: string, scope: DeriveScope, timeoutMs: number): Promise<ReadBalance> {
  let answer: unknown;
  try {
    answer = await source.derive!(customerId, scope, timeoutMs);
  } catch (err) {
    if ((err as PacSpaceApiError)?.status === 404) return { balance: 0, unknownCustomer: true };
    throw err;
  }
  const body = (answer ?? {}) as { computedBalance?: unknown; balance?: unknown };
  const balance = body.computedBalance ?? body.balance;
  if (typeof balance !== 'number' || !Number.isFinite(balance)) {
    throw new MeteringError('INVALID_RESPONSE', `PacSpace's derive answer for ${customerId} has no computedBalance (a finite number)`);
  }
  return { balance, unknownCustomer: false };
}
