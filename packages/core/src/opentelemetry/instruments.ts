import type { Meter as OtelMeter, Observable } from '@opentelemetry/api';

/**
 * The instruments `observeMeter` registers, by what they read from `stats()`. Counters are
 * cumulative since the Meter was created (ObservableCounter); the rest are current values
 * (ObservableUpDownCounter when they add up across instances, ObservableGauge otherwise).
 *
 * @example
 * const instruments = createInstruments(metrics.getMeter('@pacspace-metering/core'));
 */
export interface MeterInstruments {
  accepted: Observable;
  delivered: Observable;
  deduplicated: Observable;
  retried: Observable;
  folded: Observable;
  dropped: Observable;
  failed: Observable;
  requests: Observable;
  queued: Observable;
  inFlight: Observable;
  requestsInFlight: Observable;
  queuedBytes: Observable;
  oldestQueuedAge: Observable;
  overflowSums: Observable;
  overflowDeltas: Observable;
  paused: Observable;
  pausedCustomers: Observable;
}

/**
 * The instrument names, one place for the code, the tests and the README's tables. Names follow the
 * OpenTelemetry conventions: dot-separated namespaces, no `_total` suffix, units in UCUM with
 * `{annotations}` for counted things.
 *
 * @example
 * INSTRUMENT_NAMES.delivered; // 'pacspace.meter.deltas.delivered'
 */
export const INSTRUMENT_NAMES = {
  accepted: 'pacspace.meter.deltas.accepted',
  delivered: 'pacspace.meter.deltas.delivered',
  deduplicated: 'pacspace.meter.deltas.deduplicated',
  retried: 'pacspace.meter.deltas.retried',
  folded: 'pacspace.meter.deltas.folded',
  dropped: 'pacspace.meter.deltas.dropped',
  failed: 'pacspace.meter.deltas.failed',
  requests: 'pacspace.meter.requests',
  queued: 'pacspace.meter.queue.depth',
  inFlight: 'pacspace.meter.queue.in_flight',
  requestsInFlight: 'pacspace.meter.requests.in_flight',
  queuedBytes: 'pacspace.meter.queue.size',
  oldestQueuedAge: 'pacspace.meter.queue.oldest_age',
  overflowSums: 'pacspace.meter.overflow.sums',
  overflowDeltas: 'pacspace.meter.overflow.deltas',
  paused: 'pacspace.meter.paused',
  pausedCustomers: 'pacspace.meter.paused_customers',
} as const satisfies Record<keyof MeterInstruments, string>;

/**
 * Creates the instruments on `otel`; with the API's no-op meter they are no-ops too.
 *
 * @example
 * const i = createInstruments(metrics.getMeter('@pacspace-metering/core'));
 * otel.addBatchObservableCallback((result) => result.observe(i.queued, meter.stats().queued), [i.queued]);
 */
export function createInstruments(otel: OtelMeter): MeterInstruments {
  const n = INSTRUMENT_NAMES;
  const counter = (name: string, unit: string, description: string) => otel.createObservableCounter(name, { unit, description });
  const upDown = (name: string, unit: string, description: string) => otel.createObservableUpDownCounter(name, { unit, description });
  const gauge = (name: string, unit: string, description: string) => otel.createObservableGauge(name, { unit, description });
  return {
    accepted: counter(n.accepted, '{delta}', 'Deltas accepted for delivery (folded ones included).'),
    delivered: counter(n.delivered, '{delta}', 'Deltas PacSpace has recorded, replays included; an overflow sum counts once.'),
    deduplicated: counter(n.deduplicated, '{delta}', 'Delivered deltas that were replays of an earlier committed attempt.'),
    retried: counter(n.retried, '{retry}', 'Retries scheduled, per delta.'),
    folded: counter(n.folded, '{delta}', 'Deltas added to an overflow sum because the queue was full.'),
    dropped: counter(n.dropped, '{delta}', 'Deltas that will never be delivered, by reason (lost revenue: alert on any).'),
    failed: counter(n.failed, '{delta}', 'Deltas PacSpace refused or that ran out of attempts, by error code (error.type).'),
    requests: counter(n.requests, '{request}', 'Requests sent to PacSpace (a batch counts once).'),
    queued: upDown(n.queued, '{delta}', 'Deltas waiting to be sent or retried (not in flight).'),
    inFlight: upDown(n.inFlight, '{delta}', 'Deltas in requests under way.'),
    requestsInFlight: upDown(n.requestsInFlight, '{request}', 'Requests to PacSpace under way.'),
    queuedBytes: upDown(n.queuedBytes, 'By', 'Bytes of serialized deltas held (queued and in flight).'),
    oldestQueuedAge: gauge(n.oldestQueuedAge, 's', 'Age of the oldest delta held; 0 when empty.'),
    overflowSums: upDown(n.overflowSums, '{sum}', 'Overflow sums not yet queued.'),
    overflowDeltas: upDown(n.overflowDeltas, '{delta}', 'Deltas held in overflow sums not yet queued.'),
    paused: gauge(n.paused, '', '1 while the whole meter holds back (rate limit, outage), else 0.'),
    pausedCustomers: upDown(n.pausedCustomers, '{customer}', 'Customers paused by a cadence limit.'),
  };
}
