// Issue #7, hybrid pattern: event-driven deltas (per request and aggregated) next to a periodic
// meter, a period closed once its last window is delivered and the event queue drained, exactly
// one checkpoint per period (across repeats and restarts), meter.checkpoint retried through a 5xx,
// and a reconciliation of what the app sent against what derive says.
import {
  createAggregatingMeter,
  createMeter,
  createPacSpaceClient,
  createPeriodicMeter,
  createSentTally,
  periodOf,
  reconcile,
  type PeriodicMeterOptions,
} from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackUnhandledRejections } from './support/wait.js';

const H = 3_600_000;
const SCOPE = 'hybrid';
const JAN31 = Date.UTC(2025, 0, 31);
const FEB1 = Date.UTC(2025, 1, 1);

describe('hybrid metering: events + periodic + checkpoint + reconciliation', () => {
  const unhandled = trackUnhandledRejections();
  let sandbox: Sandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3 });
    dir = await mkdtemp(join(tmpdir(), 'periodic-hybrid-'));
  });
  afterAll(async () => {
    unhandled.stop();
    expect(unhandled.count()).toBe(0);
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  const periodicOptions = (overrides: Partial<PeriodicMeterOptions>): PeriodicMeterOptions => ({
    apiKey: sandbox.apiKey,
    baseUrl: sandbox.url,
    scope: SCOPE,
    interval: '6h',
    startAt: JAN31,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    collect: ({ start }) => [
      { customerId: 'cust-a', delta: -(start.getUTCHours() + 1), reason: 'storage_gb_hours' },
      { customerId: 'cust-b', delta: -2, reason: 'storage_gb_hours' },
    ],
    ...overrides,
  });

  it('closes a month once after its last window and the event queue, and reconciles with derive', async () => {
    sandbox.reset();
    const tally = createSentTally();
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: SCOPE, retryBaseDelayMs: 2, onDelivered: tally.onDelivered });
    const aggregated = createAggregatingMeter(meter, { interval: '1m', closeMeter: false });
    let now = FEB1 + 5_000;
    const statePath = join(dir, 'hybrid.json');
    const periodic = createPeriodicMeter(periodicOptions({ statePath, now: () => now, tally, closePeriods: { drain: [aggregated] } }));

    // Event-driven usage: per request, and aggregated for a busy route.
    for (let i = 0; i < 5; i++) meter.enqueue({ customerId: 'cust-a', delta: -3, reason: 'report', requestId: `r${i}` });
    for (let i = 0; i < 40; i++) aggregated.enqueue({ customerId: i % 2 ? 'cust-a' : 'cust-b', delta: -1, reason: 'search' });

    // The four 6 h windows of Jan 31 are delivered; the last one ends the month, which is then
    // drained (the aggregated sums go out) and checkpointed once, for all customers.
    const run = await periodic.runDue();
    expect(run.windows.map((w) => w.key)).toEqual(['20250131T000000Z.21600s', '20250131T060000Z.21600s', '20250131T120000Z.21600s', '20250131T180000Z.21600s']);
    expect(run.closed).toHaveLength(1);
    expect(run.closed[0]).toMatchObject({ period: '2025-01', errors: [], alreadyClosed: false });
    expect(run.closed[0]!.checkpoints).toEqual([expect.objectContaining({ customerId: null, period: '2025-01', idempotencyKey: 'hybrid:checkpoint:2025-01:all:customers' })]);
    expect(run.closed[0]!.drained[0]).toMatchObject({ timedOut: false, pending: 0 });
    expect(aggregated.stats().aggregation).toMatchObject({ openAggregates: 0, aggregatesEnqueued: 2 });
    expect(sandbox.ledger().checkpoints).toEqual([expect.objectContaining({ customerId: null, period: '2025-01' })]);

    // Once: again, after a restart, nothing more is requested.
    const requests = sandbox.ledger().counts.requests;
    expect(await periodic.closePeriod('2025-01')).toMatchObject({ alreadyClosed: true });
    await periodic.stop();
    const restarted = createPeriodicMeter(periodicOptions({ statePath, now: () => now, tally }));
    expect(await restarted.closePeriod('2025-01')).toMatchObject({ alreadyClosed: true });
    expect(sandbox.ledger().counts.requests).toBe(requests);
    await expect(restarted.closePeriod('2025-02')).rejects.toMatchObject({ code: 'PERIOD_OPEN' });
    now = FEB1 + 12 * H;
    expect((await restarted.runDue()).windows).toHaveLength(2);
    await restarted.stop();

    // meter.checkpoint: through a 5xx, idempotent by scope.
    const period = periodOf(Date.now());
    sandbox.setFaults({ serverError: { requests: [1] } });
    const first = await meter.checkpoint('cust-a', { period });
    expect(first).toMatchObject({ customerId: 'cust-a', period, deduplicated: false, attempts: 2, idempotencyKey: `hybrid:checkpoint:${period}:customer:cust-a` });
    const second = await meter.checkpoint('cust-a', { period });
    expect(second).toMatchObject({ checkpointId: first.checkpointId, deduplicated: true });
    expect(sandbox.ledger().checkpoints.filter((c) => c.customerId === 'cust-a')).toHaveLength(1);
    sandbox.setFaults({});

    // Reconciliation: everything this process delivered (events, aggregates, windows) vs derive.
    await meter.flush();
    const client = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    for (const customerId of ['cust-a', 'cust-b']) {
      const report = await reconcile({ client, customerId, period, sent: tally.total(customerId, period) });
      expect(report).toMatchObject({ matches: true, difference: 0 });
      expect(report.sent).toBeLessThan(0);
    }
    // A delta sent behind the app's back shows up as a difference.
    await client.balance.emit('cust-b', -7, 'manual', { referenceId: 'hybrid:manual:cust-b:1', idempotencyKey: 'hybrid:manual:cust-b:1' });
    const off = await reconcile({ client, customerId: 'cust-b', period, sent: tally.total('cust-b', period) });
    expect(off).toMatchObject({ matches: false, difference: -7 });
    client.close();
    await meter.close();
    await expect(meter.checkpoint('cust-a', { period })).rejects.toMatchObject({ reason: 'closed' });
  });

  it('checkpoints only after the last window of the month is delivered', async () => {
    sandbox.reset();
    let now = FEB1 + 1_000;
    const periodic = createPeriodicMeter(periodicOptions({ name: 'nightly', statePath: join(dir, 'manual.json'), now: () => now, retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 } }));
    // PacSpace is down: the month's windows cannot all be delivered, so no checkpoint is made.
    sandbox.setFaults({ serverError: { rate: 1 } });
    await expect(periodic.closePeriod('2025-01', { customerIds: ['cust-a', 'cust-nobody'] })).rejects.toMatchObject({ code: 'PERIOD_NOT_DELIVERED' });
    expect(sandbox.ledger().checkpoints).toEqual([]);
    // Back up: closePeriod delivers the remaining windows, then checkpoints each listed customer;
    // a customer PacSpace refuses (404, no deltas) is reported, not retried forever.
    sandbox.setFaults({});
    const report = await periodic.closePeriod('2025-01', { customerIds: ['cust-a', 'cust-nobody'] });
    expect(report.checkpoints.map((c) => c.customerId)).toEqual(['cust-a']);
    expect(report.errors).toEqual([{ customerId: 'cust-nobody', error: expect.objectContaining({ code: 'NOT_FOUND' }) }]);
    expect((await periodic.status()).nextStart).toEqual(new Date(FEB1));
    expect(sandbox.ledger().deltas).toHaveLength(8);
    expect(sandbox.ledger().checkpoints).toEqual([expect.objectContaining({ customerId: 'cust-a', period: '2025-01' })]);
    now += 1;
    expect(await periodic.closePeriod('2025-01')).toMatchObject({ alreadyClosed: true });
    await periodic.stop();
  });
});
