import { createMeter, type RetryEvent } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { trackUnhandledRejections } from './support/wait.js';

// Issue 24: the same guarantees through either HTTP client of the built-in client.
describe.each(['node', 'fetch'] as const)('Meter -> sandbox: exactly once under faults (%s transport)', (transport) => {
  let sandbox: Sandbox;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 42 });
  });
  afterAll(async () => {
    await sandbox.close();
    unhandled.stop();
  });

  it('delivers 2,000 deltas exactly once through 503s, resets, commit-then-drop and a Retry-After pause (single-delta delivery)', async () => {
    sandbox.setFaults({
      serverError: { rate: 0.2, statuses: [503] },
      resetBeforeProcessing: { rate: 0.1 },
      commitThenDrop: { rate: 0.1 },
      rateLimit: { requests: [300], retryAfterSeconds: 1 },
    });
    const rateLimited: Array<{ event: RetryEvent; pausedUntil: number | null; at: number }> = [];
    const meter = createMeter({
      apiKey: sandbox.apiKey,
      baseUrl: sandbox.url,
      transport,
      scope: 'e2e',
      delivery: 'single',
      concurrency: 8,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 100,
      onRetry: (event) => {
        if ((event.error as { status?: number }).status === 429) rateLimited.push({ event, pausedUntil: meter.stats().pausedUntil, at: Date.now() });
      },
    });
    const expected = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const result = meter.enqueue({ customerId: `cust-${i % 7}`, delta: -1, reason: 'api_request', requestId: `req-${i}`, metadata: { i } });
      if (!result.accepted) throw result.error;
      expected.add(result.referenceId);
    }
    const report = await meter.flush({ timeoutMs: 120_000 });
    const ledger = sandbox.ledger();

    expect(report).toMatchObject({ delivered: 2000, failed: 0, dropped: 0, pending: 0, timedOut: false });
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas).toHaveLength(2000);
    expect(new Set(ledger.deltas.map((d) => d.referenceId))).toEqual(expected);
    // Commit-then-drop means some answers were lost after the commit: those retries came back as replays.
    expect(meter.stats().deduplicated).toBeGreaterThan(0);
    expect(ledger.counts.replayed).toBeGreaterThanOrEqual(meter.stats().deduplicated);
    // The 429 paused the whole meter for at least its Retry-After.
    expect(rateLimited).toHaveLength(1);
    expect(rateLimited[0]!.event.delayMs).toBeGreaterThanOrEqual(1000);
    expect(rateLimited[0]!.pausedUntil! - rateLimited[0]!.at).toBeGreaterThan(900);
    await meter.close();
    expect(unhandled.count()).toBe(0);
  });

  it('sends the body frozen at acceptance on every retry, whatever the caller mutates later', async () => {
    sandbox.reset();
    sandbox.setFaults({ commitThenDrop: { requests: [1] } });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport, retryBaseDelayMs: 5 });
    const metadata: Record<string, unknown> = { plan: 'pro' };
    const result = meter.enqueue({ customerId: 'acme', delta: -3, reason: 'report', requestId: 'r1', metadata });
    metadata.plan = 'changed-after-enqueue';
    metadata.at = Date.now();
    const report = await meter.flush({ timeoutMs: 10_000 });
    expect(report).toMatchObject({ delivered: 1, deduplicated: 1, failed: 0 });
    const ledger = sandbox.ledger();
    expect(ledger.deltas).toHaveLength(1);
    expect(ledger.deltas[0]).toMatchObject({ referenceId: result.accepted ? result.referenceId : '', metadata: { plan: 'pro' } });
    expect(ledger.counts.conflicts).toBe(0);
    await meter.close();
  });

  it('lets concurrent flush calls share one drain that really waits', async () => {
    sandbox.reset();
    sandbox.setFaults({ latencyMs: 30 });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport, concurrency: 2 });
    for (let i = 0; i < 20; i++) meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: `f-${i}` });
    const [a, b] = await Promise.all([meter.flush(), meter.flush({ timeoutMs: 60_000 })]);
    expect(a).toMatchObject({ delivered: 20, pending: 0, timedOut: false });
    expect(b).toMatchObject({ delivered: 20, pending: 0, timedOut: false });
    expect(sandbox.ledger().deltas).toHaveLength(20);
    await meter.close();
  });

  it('resolves emit() with the receipt once PacSpace has the delta', async () => {
    sandbox.reset();
    sandbox.setFaults({ serverError: { requests: [1, 2] } });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport, retryBaseDelayMs: 5 });
    const receipt = await meter.emit({ customerId: 'acme', delta: -10, reason: 'export', requestId: 'critical-1' });
    expect(receipt).toMatchObject({ referenceId: 'metering:export:acme:critical-1', attempts: 3, deduplicated: false });
    expect(receipt.receipt.recordId).toEqual(sandbox.ledger().deltas[0]!.recordId);
    await meter.close();
  });
});
