/**
 * A balance gate's counters since it was created, and a few gauges, from `gate.stats()`.
 *
 * @example
 * const { checks, refused, deriveCalls, cacheHits, staleReads } = gate.stats();
 */
export interface BalanceGateStats {
  /** Calls checked (every outcome below, and `invalid`). */
  checks: number;
  /** Calls let through because the balance covered their price (or the price was 0, or the Meter is a dry run). */
  allowed: number;
  /** Calls refused because the balance did not cover their price (402). */
  refused: number;
  /** Calls served unchecked because PacSpace could not be asked (`whenUnavailable: 'serve'`). */
  unavailableServed: number;
  /** Calls refused because PacSpace could not be asked (`whenUnavailable: 'refuse'`, 503). */
  unavailableRefused: number;
  /** Checks given no usable customer id or price (the call gets an error, not a decision). */
  invalid: number;
  /** Decisions made from a balance younger than `ttlMs`. */
  cacheHits: number;
  /** Decisions made from a balance older than `ttlMs` (and at most `maxStaleMs`): while it refreshes, or while PacSpace cannot be asked. */
  staleReads: number;
  /** Checks that waited for PacSpace (no usable balance yet). */
  waited: number;
  /** Balance reads sent to PacSpace (`GET /balance/derive`). */
  deriveCalls: number;
  /** Of those, the ones that failed (timeout, network, 5xx, 401/403, an answer without a balance). */
  deriveFailures: number;
  /** Status reads of delivered deltas (`GET /balance/delta/:recordId`), to see PacSpace count them. */
  statusReads: number;
  /** Of those, the ones that failed. */
  statusFailures: number;
  /** Reads of other instances' undelivered usage (`fleetPending`). */
  fleetReads: number;
  /** Of those, the ones that failed. */
  fleetFailures: number;
  /** Customers whose balance is being read now (one read at a time per customer). */
  readsInFlight: number;
  /** Customers whose balance is kept now. */
  customers: number;
  /** Customers forgotten to stay within `maxCustomers`. */
  evicted: number;
  /** Calls let through and still running (their price is reserved). */
  running: number;
  /** Delivered deltas still counted because PacSpace has not been seen to count them. */
  heldDeliveries: number;
  /** Delivered deltas let go of before they were seen counted (too many held, or held longer than the limit). */
  heldDropped: number;
}

/** Counters, all zero, and gauges a gate fills in when asked. */
export function newGateStats(): BalanceGateStats {
  return {
    checks: 0, allowed: 0, refused: 0, unavailableServed: 0, unavailableRefused: 0, invalid: 0,
    cacheHits: 0, staleReads: 0, waited: 0,
    deriveCalls: 0, deriveFailures: 0, statusReads: 0, statusFailures: 0, fleetReads: 0, fleetFailures: 0,
    readsInFlight: 0, customers: 0, evicted: 0, running: 0, heldDeliveries: 0, heldDropped: 0,
  };
}
