import type { BalanceGateStats } from './gate-stats.js';

/**
 * One figure of a balance gate, as both metrics exporters publish it: `name` under
 * `pacspace.gate.` (OpenTelemetry) or `pacspace_gate_` (Prometheus, `_total` added to counters),
 * with an optional attribute that tells the figures of one metric apart.
 */
export interface GateFigure {
  name: string;
  kind: 'counter' | 'gauge';
  unit: string;
  help: string;
  attribute?: [key: string, value: string];
  read(stats: BalanceGateStats): number;
}

const DECISIONS = 'Checked calls by decision: allowed, refused (402), unavailable_served, unavailable_refused (503), invalid.';
const CACHE = 'Decisions by where the balance came from: hit (fresh), stale (older than ttlMs), wait (waited for PacSpace).';
const READS = 'Reads sent to PacSpace by kind: derive (balance), status (a delivered delta), fleet (fleetPending).';
const FAILURES = 'Of those reads, the ones that failed, by kind.';

/**
 * Every figure of `stats()` the exporters publish. Decisions, cache results and reads are one
 * metric each with an attribute, so a dashboard sums or splits them.
 *
 * @example
 * for (const figure of GATE_FIGURES) console.log(figure.name, figure.read(gate.stats()));
 */
export const GATE_FIGURES: readonly GateFigure[] = [
  { name: 'checks', kind: 'counter', unit: '{call}', help: 'Calls checked by the balance gate.', read: (s) => s.checks },
  { name: 'decisions', kind: 'counter', unit: '{call}', help: DECISIONS, attribute: ['decision', 'allowed'], read: (s) => s.allowed },
  { name: 'decisions', kind: 'counter', unit: '{call}', help: DECISIONS, attribute: ['decision', 'refused'], read: (s) => s.refused },
  { name: 'decisions', kind: 'counter', unit: '{call}', help: DECISIONS, attribute: ['decision', 'unavailable_served'], read: (s) => s.unavailableServed },
  { name: 'decisions', kind: 'counter', unit: '{call}', help: DECISIONS, attribute: ['decision', 'unavailable_refused'], read: (s) => s.unavailableRefused },
  { name: 'decisions', kind: 'counter', unit: '{call}', help: DECISIONS, attribute: ['decision', 'invalid'], read: (s) => s.invalid },
  { name: 'cache', kind: 'counter', unit: '{call}', help: CACHE, attribute: ['result', 'hit'], read: (s) => s.cacheHits },
  { name: 'cache', kind: 'counter', unit: '{call}', help: CACHE, attribute: ['result', 'stale'], read: (s) => s.staleReads },
  { name: 'cache', kind: 'counter', unit: '{call}', help: CACHE, attribute: ['result', 'wait'], read: (s) => s.waited },
  { name: 'reads', kind: 'counter', unit: '{request}', help: READS, attribute: ['kind', 'derive'], read: (s) => s.deriveCalls },
  { name: 'reads', kind: 'counter', unit: '{request}', help: READS, attribute: ['kind', 'status'], read: (s) => s.statusReads },
  { name: 'reads', kind: 'counter', unit: '{request}', help: READS, attribute: ['kind', 'fleet'], read: (s) => s.fleetReads },
  { name: 'read_failures', kind: 'counter', unit: '{request}', help: FAILURES, attribute: ['kind', 'derive'], read: (s) => s.deriveFailures },
  { name: 'read_failures', kind: 'counter', unit: '{request}', help: FAILURES, attribute: ['kind', 'status'], read: (s) => s.statusFailures },
  { name: 'read_failures', kind: 'counter', unit: '{request}', help: FAILURES, attribute: ['kind', 'fleet'], read: (s) => s.fleetFailures },
  { name: 'evicted', kind: 'counter', unit: '{customer}', help: 'Customers forgotten to stay within maxCustomers.', read: (s) => s.evicted },
  { name: 'held_dropped', kind: 'counter', unit: '{delta}', help: 'Delivered deltas let go of before PacSpace was seen to count them.', read: (s) => s.heldDropped },
  { name: 'customers', kind: 'gauge', unit: '{customer}', help: 'Customers whose balance is kept.', read: (s) => s.customers },
  { name: 'running', kind: 'gauge', unit: '{call}', help: 'Calls let through and still running (price reserved).', read: (s) => s.running },
  { name: 'held_deliveries', kind: 'gauge', unit: '{delta}', help: 'Delivered deltas still counted until PacSpace is seen to count them.', read: (s) => s.heldDeliveries },
  { name: 'reads_in_flight', kind: 'gauge', unit: '{request}', help: 'Balance reads under way.', read: (s) => s.readsInFlight },
];
