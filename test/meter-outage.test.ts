import { createMeter, type DropEvent } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { waitFor } from './support/wait.js';

describe('Meter during a PacSpace outage', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3 });
  });
  afterAll(() => sandbox.close());

  it("with overflow: 'drop', stops the queue at its bound, counts every drop, backs off, and delivers the backlog when PacSpace returns", async () => {
    await sandbox.stop();
    const drops: DropEvent[] = [];
    const meter = createMeter({
      apiKey: sandbox.apiKey,
      baseUrl: sandbox.url,
      overflow: 'drop',
      maxQueueSize: 1000,
      maxQueueBytes: 1024 * 1024,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 200,
      onDrop: (d) => drops.push(d),
    });
    const accepted = new Set<string>();
    const offered = 20_000;
    for (let i = 0; i < offered; i++) {
      const result = meter.enqueue({ customerId: `c${i % 5}`, delta: -1, reason: 'api_request', requestId: `outage-${i}`, metadata: { i } });
      if (result.accepted) accepted.add(result.referenceId);
    }
    // Bounded: the queue holds what it was sized for, whatever was offered.
    expect(accepted.size).toBe(1000);
    const stats = meter.stats();
    expect(stats.queued + stats.inFlight).toBe(1000);
    expect(stats.queuedBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(stats.dropped).toEqual({ queue_full: offered - 1000 });
    expect(drops).toHaveLength(offered - 1000);
    expect(drops.every((d) => d.reason === 'queue_full' && d.customerId && d.delta === -1)).toBe(true);

    // Connection refused again and again: the whole meter backs off instead of hammering.
    await waitFor(() => meter.stats().pausedUntil !== null, 'the meter to pause');
    expect(meter.stats().retried).toBeGreaterThan(0);
    expect(meter.stats().delivered).toBe(0);

    await sandbox.start();
    const report = await meter.flush({ timeoutMs: 60_000 });
    expect(report).toMatchObject({ delivered: 1000, failed: 0, pending: 0, timedOut: false });
    const ledger = sandbox.ledger();
    expect(new Set(ledger.deltas.map((d) => d.referenceId))).toEqual(accepted);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    await meter.close();
  });

  it('close({ timeoutMs }) on a stalled PacSpace returns on time and reports what is pending (single-delta delivery)', async () => {
    sandbox.reset();
    sandbox.setFaults({ latencyMs: 30_000 });
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, delivery: 'single', concurrency: 2, attemptTimeoutMs: 60_000, onDrop: (d) => drops.push(d) });
    const refs: string[] = [];
    for (let i = 0; i < 10; i++) {
      const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: `stall-${i}` });
      if (result.accepted) refs.push(result.referenceId);
    }
    await waitFor(() => meter.stats().inFlight === 2, 'two requests in flight');
    // Jest's 60 s test timeout fails this test if close() waited for the 30 s stall.
    const report = await meter.close({ timeoutMs: 300 });
    expect(report.timedOut).toBe(true);
    expect(report.pendingReferenceIds.sort()).toEqual([...refs].sort());
    // The 8 that never left are reported as dropped at shutdown; the 2 in flight settle when answered.
    expect(report.dropped).toBe(8);
    expect(report.pending).toBe(10);
    expect(drops.filter((d) => d.reason === 'shutdown')).toHaveLength(8);
    expect(meter.stats()).toMatchObject({ closed: true, dropped: { shutdown: 8 }, inFlight: 2 });
    expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' })).toMatchObject({ accepted: false, reason: 'closed' });
    sandbox.setFaults({});
  });
});
