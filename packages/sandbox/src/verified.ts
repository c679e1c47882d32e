import type { Ledger, StoredDelta } from './ledger.js';
import type { TimeRange } from './validation.js';

/**
 * The deltas that count at `now` among `deltas`, within the half-open `range`: only VERIFIED ones,
 * as on PacSpace, where queued deltas are not yet billed and failed ones never are.
 */
export function verifiedIn(ledger: Ledger, deltas: readonly StoredDelta[], range: TimeRange, now: number): StoredDelta[] {
  return deltas.filter((d) => d.ms >= range.start && d.ms < range.end && ledger.isVerified(d, now));
}

export function sum(deltas: readonly StoredDelta[]): number {
  let total = 0;
  for (const d of deltas) total += d.delta;
  return total;
}
