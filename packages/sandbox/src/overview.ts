import type { FaultConfig } from './faults.js';
import type { Ledger, LedgerCounts, LedgerDelta, RequestRecord } from './ledger.js';
import type { ResolvedPace } from './verification.js';

/** One customer's balances, by lifecycle state. */
export interface CustomerBalance {
  customerId: string;
  /** Net of VERIFIED deltas: what PacSpace would bill. */
  verified: number;
  /** Net of QUEUED and PROCESSING deltas. */
  pending: number;
  /** Net of FAILED deltas (never billed). */
  failed: number;
  deltas: number;
}

/**
 * What the page polls (`GET /_sandbox/overview?limit=N`): the newest deltas and requests (newest
 * first) and per-customer balances, so a poll stays small however long the sandbox has run.
 */
export interface Overview {
  counts: LedgerCounts;
  faults: FaultConfig;
  verification: ResolvedPace;
  balances: CustomerBalance[];
  deltas: LedgerDelta[];
  requests: RequestRecord[];
}

export function overview(ledger: Ledger, faults: FaultConfig, pace: ResolvedPace, limit: number, now: number): Overview {
  const all = ledger.allDeltas();
  const balances = new Map<string, CustomerBalance>();
  for (const stored of all) {
    const { status } = ledger.view(stored, now);
    let b = balances.get(stored.customerId);
    if (!b) balances.set(stored.customerId, (b = { customerId: stored.customerId, verified: 0, pending: 0, failed: 0, deltas: 0 }));
    b.deltas++;
    if (status === 'VERIFIED') b.verified += stored.delta;
    else if (status === 'FAILED') b.failed += stored.delta;
    else b.pending += stored.delta;
  }
  const { counts, requests } = ledger.snapshotRequests(limit);
  return {
    counts,
    faults,
    verification: pace,
    balances: [...balances.values()],
    deltas: all.slice(-limit).reverse().map((d) => ledger.view(d, now)),
    requests: requests.reverse(),
  };
}
