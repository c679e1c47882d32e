import { createMeter, createPacSpaceClient, type BatchDelta, type DropEvent, type PacSpaceApiError } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { createSqliteStore, SqliteOutbox } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecordingProxy, type ProxiedRequest, type RecordingProxy } from './support/recording-proxy.js';
import { trackUnhandledRejections, waitFor } from './support/wait.js';

const BATCH = '/api/v1/balance/delta/batch';

/** Requests grouped by Idempotency-Key. */
function byKey(requests: ProxiedRequest[]): Map<string, ProxiedRequest[]> {
  const keys = new Map<string, ProxiedRequest[]>();
  for (const r of requests) keys.set(r.idempotencyKey ?? '', [...(keys.get(r.idempotencyKey ?? '') ?? []), r]);
  return keys;
}

// Issue 24: the same guarantees through either HTTP client of the built-in client.
describe.each(['node', 'fetch'] as const)('Meter -> sandbox: batched delivery (%s transport)', (transport) => {
  let sandbox: Sandbox;
  let proxy: RecordingProxy;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 5 });
    proxy = await startRecordingProxy(sandbox.url);
  });
  beforeEach(() => {
    sandbox.reset();
    sandbox.setFaults({});
    proxy.requests.length = 0;
  });
  afterAll(async () => {
    await proxy.close();
    await sandbox.close();
    unhandled.stop();
  });

  it('delivers 2,000 deltas exactly once through batch faults, resending each batch with the same key and body', async () => {
    sandbox.setFaults({
      serverError: { rate: 0.2, statuses: [503] },
      resetBeforeProcessing: { rate: 0.1 },
      commitThenDrop: { rate: 0.1 },
      rateLimit: { requests: [6], retryAfterSeconds: 1 },
      // Items fail inside the 2xx answer: they travel again later, under a new key.
      cadenceLimit: { customerId: 'cust-3', every: 3, retryAfterSeconds: 1 },
      itemFailures: { rate: 0.05, codes: ['SERVICE_UNAVAILABLE', 'RATE_LIMITED'] },
    });
    const retriedCodes = new Map<string, number>();
    const meter = createMeter({
      apiKey: sandbox.apiKey,
      baseUrl: proxy.url,
      transport,
      scope: 'batches',
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 100,
      onRetry: ({ error }) => void retriedCodes.set((error as PacSpaceApiError).code, (retriedCodes.get((error as PacSpaceApiError).code) ?? 0) + 1),
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
    expect(ledger.counts.conflicts).toBe(0);

    // Every request went to the batch endpoint, and a resend of a key always carried the same body.
    const keys = byKey(proxy.requests);
    expect(proxy.requests.every((r) => r.path === BATCH && r.items >= 1 && r.items <= 100)).toBe(true);
    for (const sends of keys.values()) expect(new Set(sends.map((r) => r.bodyHash)).size).toBe(1);
    const resent = [...keys.values()].filter((sends) => sends.length > 1);
    expect(resent.length).toBeGreaterThan(0);
    // The faults happened: dropped connections, 503s, the 429, and items refused inside a 2xx.
    expect(proxy.requests.filter((r) => r.status === 0).length).toBeGreaterThan(0);
    expect(proxy.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(proxy.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(retriedCodes.get('CADENCE_LIMIT')).toBeGreaterThan(0);
    expect(retriedCodes.get('SERVICE_UNAVAILABLE')).toBeGreaterThan(0);
    expect(retriedCodes.get('RATE_LIMITED')).toBeGreaterThan(0);
    expect(meter.stats().deduplicated).toBeGreaterThan(0);
    expect(meter.stats().retried).toBeGreaterThan(0);
    // Far fewer requests than deltas.
    expect(meter.stats().requests).toBe(proxy.requests.length);
    expect(proxy.requests.length).toBeLessThan(2000 / 10);
    await meter.close();
    expect(unhandled.count()).toBe(0);
  });

  it('resolves each emit() with its own item receipt when it travelled in a batch with others', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, transport, scope: 'emits' });
    for (let i = 0; i < 30; i++) meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `bulk-${i}` });
    const receipts = await Promise.all([1, 2, 3].map((n) => meter.emit({ customerId: `vip-${n}`, delta: -n, reason: 'export', requestId: `critical-${n}` })));
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]!.items).toBe(33);
    const recordOf = new Map(sandbox.ledger().deltas.map((d) => [d.referenceId, d.recordId]));
    receipts.forEach((receipt, i) => {
      expect(receipt).toMatchObject({ referenceId: `emits:export:vip-${i + 1}:critical-${i + 1}`, deduplicated: false, attempts: 1 });
      expect(receipt.receipt.recordId).toBe(recordOf.get(receipt.referenceId));
    });
    await meter.close();
  });

  it('delivers a lone delta without a flush, and groups the ones queued together into one request', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, transport, flushIntervalMs: 50 });
    meter.enqueue({ customerId: 'quiet', delta: -1, reason: 'api_request' });
    await waitFor(() => meter.stats().delivered === 1, 'the lone delta delivered');
    for (let i = 0; i < 40; i++) meter.enqueue({ customerId: 'quiet', delta: -1, reason: 'api_request' });
    await waitFor(() => meter.stats().delivered === 41, 'the group delivered');
    expect(proxy.requests.map((r) => r.items)).toEqual([1, 40]);
    await meter.close();
  });

  it('drops only the item PacSpace refuses for good inside a 2xx answer, with its reason (SDK-shaped client with emitBatch)', async () => {
    const real = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport });
    const sent: number[] = [];
    // An SDK-shaped client whose batch carries one item the API refuses: a reason over 500 characters.
    const client = {
      balance: {
        emit: real.balance.emit,
        emitBatch: (deltas: BatchDelta[], options?: { idempotencyKey?: string }) => {
          sent.push(deltas.length);
          return real.balance.emitBatch(deltas.map((d) => (d.customerId === 'bad' ? { ...d, reason: d.reason.padEnd(600, 'x') } : d)), options);
        },
      },
    };
    const drops: DropEvent[] = [];
    const errors: Error[] = [];
    const meter = createMeter({ client, retryBaseDelayMs: 5, onDrop: (d) => drops.push(d), onError: (e) => errors.push(e) });
    for (let i = 0; i < 20; i++) meter.enqueue({ customerId: i === 7 ? 'bad' : 'good', delta: -1, reason: 'api_request', requestId: `r-${i}` });
    const report = await meter.flush();
    expect(report).toMatchObject({ delivered: 19, failed: 1, dropped: 1, pending: 0 });
    expect(sent).toEqual([20]);
    expect(drops).toMatchObject([{ reason: 'rejected', referenceId: 'metering:api_request:bad:r-7', attempts: 1 }]);
    expect((drops[0]!.error as PacSpaceApiError).code).toBe('VALIDATION_ERROR');
    expect(errors).toHaveLength(1);
    expect(meter.stats().failed).toEqual({ VALIDATION_ERROR: 1 });
    expect(sandbox.ledger().deltas.map((d) => d.customerId)).toEqual(Array(19).fill('good'));
    await meter.close();
    real.close();
  });

  it('dead-letters only the item PacSpace refuses for good inside a 2xx answer, with its reason and code', async () => {
    sandbox.setFaults({ itemFailures: { customerIds: ['bad'], codes: ['VALIDATION_ERROR'] } });
    const dir = mkdtempSync(join(tmpdir(), 'batch-dead-letter-'));
    const path = join(dir, 'outbox.db');
    try {
      const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport, scope: 'dl', store: createSqliteStore({ path }) });
      for (let i = 0; i < 50; i++) meter.enqueue({ customerId: i === 20 ? 'bad' : 'good', delta: -1, reason: 'api_request', requestId: `r-${i}` });
      const report = await meter.close();
      expect(report).toMatchObject({ delivered: 49, failed: 1, pending: 0 });
      expect(meter.stats()).toMatchObject({ requests: 1, dropped: { rejected: 1 }, failed: { VALIDATION_ERROR: 1 } });
      const file = SqliteOutbox.open(path);
      expect(file.deadLetters().map((l) => [l.referenceId, l.reason, l.error.code])).toEqual([['dl:api_request:bad:r-20', 'rejected', 'VALIDATION_ERROR']]);
      file.close();
      expect(sandbox.ledger().deltas).toHaveLength(49);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('narrows a batch refused whole (400) down to the one bad item, delivering the 99 others', async () => {
    sandbox.setFaults({ batchRejection: { customerIds: ['bad'] } });
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, transport, onDrop: (d) => drops.push(d) });
    for (let i = 0; i < 100; i++) meter.enqueue({ customerId: i === 63 ? 'bad' : `good-${i % 4}`, delta: -1, reason: 'api_request', requestId: `r-${i}` });
    const report = await meter.flush();
    expect(report).toMatchObject({ delivered: 99, failed: 1, dropped: 1, pending: 0 });
    expect(drops).toMatchObject([{ reason: 'rejected', referenceId: 'metering:api_request:bad:r-63' }]);
    expect((drops[0]!.error as PacSpaceApiError).status).toBe(400);
    expect(sandbox.ledger().deltas).toHaveLength(99);
    // Halving: the refused part is split again until the bad item is alone (2 requests per level).
    expect(proxy.requests[0]).toMatchObject({ items: 100, status: 400 });
    expect(proxy.requests.filter((r) => r.status === 400).map((r) => r.items)).toEqual([100, 50, 25, 12, 6, 3, 2, 1]);
    expect(proxy.requests.length).toBeLessThanOrEqual(16);
    await meter.close();
  });

  it('splits a batch PacSpace answers 413 until each part fits, and delivers every delta once', async () => {
    const small = await startSandbox({ maxBodyBytes: 4096 });
    const meter = createMeter({ apiKey: small.apiKey, baseUrl: small.url, transport, retryBaseDelayMs: 5 });
    for (let i = 0; i < 100; i++) meter.enqueue({ customerId: `c-${i % 3}`, delta: -1, reason: 'api_request', requestId: `big-${i}`, metadata: { note: 'x'.repeat(60) } });
    const report = await meter.flush();
    const ledger = small.ledger();
    expect(report).toMatchObject({ delivered: 100, failed: 0, dropped: 0, pending: 0 });
    expect(ledger.deltas).toHaveLength(100);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.requests.filter((r) => r.status === 413).length).toBeGreaterThan(0);
    expect(ledger.requests.filter((r) => r.status === 201).length).toBeGreaterThan(1);
    await meter.close();
    await small.close();
  });

  it('falls back to one delta per request when the batch endpoint does not exist (404)', async () => {
    const noBatch = await startRecordingProxy(sandbox.url, (path) => (path === BATCH ? { status: 404, body: { success: false, error: { code: 'NOT_FOUND', message: 'no such route' } } } : undefined));
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: noBatch.url, transport, retryBaseDelayMs: 5 });
    for (let i = 0; i < 5; i++) meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `nb-${i}` });
    const report = await meter.flush();
    expect(report).toMatchObject({ delivered: 5, failed: 0, dropped: 0 });
    expect(noBatch.requests.map((r) => [r.path, r.items])).toEqual([[BATCH, 5], ...Array(5).fill(['/api/v1/balance/delta', 1])]);
    expect(sandbox.ledger().deltas.every((d) => d.idempotencyKey === d.referenceId)).toBe(true);
    await meter.close();
    await noBatch.close();
  });

  it('close({ timeoutMs }) with a batch in flight and one waiting to be resent reports every delta', async () => {
    sandbox.setFaults({ latencyMs: 30_000 });
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, transport, maxBatchSize: 10, concurrency: 1, attemptTimeoutMs: 60_000, onDrop: (d) => drops.push(d) });
    const refs: string[] = [];
    for (let i = 0; i < 25; i++) {
      const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: `stall-${i}` });
      if (result.accepted) refs.push(result.referenceId);
    }
    await waitFor(() => meter.stats().requestsInFlight === 1, 'one request in flight');
    const report = await meter.close({ timeoutMs: 300 });
    expect(report).toMatchObject({ timedOut: true, pending: 25, dropped: 15 });
    expect(report.pendingReferenceIds.sort()).toEqual([...refs].sort());
    // The 15 that never left are dropped as `shutdown`; the 10 in flight settle when answered.
    expect(drops.filter((d) => d.reason === 'shutdown')).toHaveLength(15);
    expect(meter.stats()).toMatchObject({ dropped: { shutdown: 15 }, inFlight: 10, requestsInFlight: 1 });
    sandbox.setFaults({});
  });
});
