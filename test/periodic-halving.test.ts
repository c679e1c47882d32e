// Issue #23, one engine: a periodic window goes out through the Meter's batch sender and verdicts,
// so a 413 halves a window's chunk as it halves a batch of request deltas (it used to fail the
// window for good), and a batch-level 400 caused by one snapshot is narrowed down to that snapshot.
import { createPeriodicMeter, createMemoryStateStore, windowKey, type PeriodicMeterOptions, type UsageSnapshot } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { trackUnhandledRejections } from './support/wait.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1);
const SCOPE = 'halving';

/** 60 snapshots with some metadata: about 270 bytes each in a batch body. */
function usage(): UsageSnapshot[] {
  return Array.from({ length: 60 }, (_, c) => ({ customerId: `cust-${String(c).padStart(2, '0')}`, delta: -(c + 1), reason: 'storage_gb_hours', metadata: { note: 'x'.repeat(80) } }));
}

describe('periodic windows share the request engine: 413 and batch-level 400 halve a chunk', () => {
  const unhandled = trackUnhandledRejections();
  let sandbox: Sandbox;
  beforeAll(async () => {
    // A 6 kB body limit: a 60-item chunk (about 16 kB) is refused 413, a quarter of it fits.
    sandbox = await startSandbox({ seed: 23, maxBodyBytes: 6144 });
  });
  afterAll(async () => {
    unhandled.stop();
    expect(unhandled.count()).toBe(0);
    await sandbox.close();
  });

  const options = (overrides: Partial<PeriodicMeterOptions> = {}): PeriodicMeterOptions => ({
    apiKey: sandbox.apiKey,
    baseUrl: sandbox.url,
    scope: SCOPE,
    interval: '1h',
    startAt: T0,
    now: () => T0 + H,
    stateStore: createMemoryStateStore(),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    collect: usage,
    ...overrides,
  });

  it('delivers a window whose chunk is too large by halving it until each half fits, each item once', async () => {
    sandbox.reset();
    const periodic = createPeriodicMeter(options());
    const report = await periodic.runDue();
    await periodic.stop();

    expect(report.status).toBe('idle');
    expect(report.windows).toHaveLength(1);
    expect(report.windows[0]).toMatchObject({ items: 60, delivered: 60, replayed: 0 });
    const ledger = sandbox.ledger();
    expect(ledger.deltas).toHaveLength(60);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    const batches = ledger.requests.filter((r) => r.path === '/api/v1/balance/delta/batch');
    const refused = batches.filter((r) => r.status === 413);
    // 60 -> 30 -> 15 items: 15 fit in 6 kB (about 4 kB), 30 do not: one 413 for the chunk, two for its halves.
    expect(refused).toHaveLength(3);
    expect(report.windows[0]!.requests).toBe(batches.length);
    // The halves' keys derive from the chunk's own key: the same on a restart, so a resend replays.
    const key = `${SCOPE}:periodic:batch:${windowKey({ start: T0, end: T0 + H })}:r0.1of1`;
    expect(batches.filter((r) => r.status === 201).map((r) => r.idempotencyKey).sort()).toEqual([`${key}.1of2.1of2`, `${key}.1of2.2of2`, `${key}.2of2.1of2`, `${key}.2of2.2of2`]);
  });

  it('narrows a batch-level 400 down to the one snapshot at fault: the window fails naming it, its neighbours are delivered', async () => {
    sandbox.reset();
    sandbox.setFaults({ batchRejection: { customerIds: ['cust-41'], status: 400 } });
    const few = () => usage().slice(0, 12).concat(usage()[41]!);
    const periodic = createPeriodicMeter(options({ collect: few }));
    const report = await periodic.runDue();
    await periodic.stop();
    sandbox.setFaults({});

    expect(report.status).toBe('failed');
    expect(report.failure).toMatchObject({ code: 'ITEMS_REJECTED' });
    expect(report.failure!.items).toEqual([expect.objectContaining({ customerId: 'cust-41', code: 'VALIDATION_ERROR' })]);
    const ledger = sandbox.ledger();
    expect(ledger.deltas.map((d) => d.customerId).sort()).toEqual(few().map((s) => s.customerId).filter((c) => c !== 'cust-41').sort());
    expect(duplicateReferenceIds(ledger)).toEqual([]);
  });
});
