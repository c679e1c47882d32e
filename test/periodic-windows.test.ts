// Issue #7, "Must show": 48 one-hour windows with the clock driven by the test, faults on some
// windows (5xx, connection resets, commit-then-drop, a per-item cadence limit), a graceful restart
// and a crash mid-window followed by downtime. Every window is delivered exactly once, with no gap
// and no overlap, and the ledger holds exactly what collect returned. A window that fails for good
// stops the meter there, across restarts, until it is skipped on purpose.
import {
  createPacSpaceClient,
  createPeriodicMeter,
  snapshotReferenceId,
  windowKey,
  type PeriodicMeter,
  type PeriodicMeterOptions,
  type UsageSnapshot,
  type WindowFailure,
  type WindowReport,
} from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type FaultConfig, type Sandbox } from '@pacspace-metering/sandbox';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackUnhandledRejections } from './support/wait.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1); // 2025-03-01T00:00Z: in the past, so the sandbox accepts checkpoints for it
const SCOPE = 'periodic-e2e';
const REASON = 'storage_gb_hours';

/** Deterministic usage of window h: a few customers, 250 in window 12 and 150 in window 31 (several chunks), some zeros. */
function usage(h: number): UsageSnapshot[] {
  const n = h === 12 ? 250 : h === 31 ? 150 : 5 + (h % 4);
  return Array.from({ length: n }, (_, c) => ({
    customerId: `cust-${c}`,
    delta: c % 7 === 3 && h % 2 === 1 ? 0 : -((h % 5) + (c % 3) + 1),
    reason: REASON,
    metadata: { hour: h },
  }));
}

/** Faults for the write requests of one window (numbering restarts at each setFaults). */
const FAULTS: Record<number, FaultConfig> = {
  3: { serverError: { requests: [1] } },
  7: { resetBeforeProcessing: { requests: [1, 2] } },
  9: { commitThenDrop: { requests: [1] } },
  12: { commitThenDrop: { requests: [2] }, serverError: { requests: [4] } },
  20: { serverError: { rate: 0.5 }, resetBeforeProcessing: { rate: 0.2 } },
  22: { cadenceLimit: { customerId: 'cust-2', retryAfterSeconds: 0, requests: [1] } },
  // Window 31 is where the process "crashes": one chunk committed then dropped, then 5xx until the run gives up.
  31: { commitThenDrop: { requests: [1] }, serverError: { requests: [2, 3] } },
};
const LATE_FAULTS: FaultConfig = { serverError: { rate: 0.2 }, resetBeforeProcessing: { rate: 0.1 }, commitThenDrop: { rate: 0.1 } };

describe('periodic metering: 48 hourly windows against the sandbox', () => {
  const unhandled = trackUnhandledRejections();
  let sandbox: Sandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 48 });
    dir = await mkdtemp(join(tmpdir(), 'periodic-e2e-'));
  });
  afterAll(async () => {
    unhandled.stop();
    expect(unhandled.count()).toBe(0);
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers every window exactly once through faults, a restart, a crash and downtime', async () => {
    sandbox.reset();
    const statePath = join(dir, 'windows.json');
    let now = T0;
    const delivered: WindowReport[] = [];
    const failed: WindowFailure[] = [];
    const collected: Array<{ start: number; end: number }> = [];
    const meters: PeriodicMeter[] = [];
    const newMeter = (overrides: Partial<PeriodicMeterOptions> = {}) => {
      const meter = createPeriodicMeter({
        apiKey: sandbox.apiKey,
        baseUrl: sandbox.url,
        scope: SCOPE,
        interval: '1h',
        statePath,
        startAt: T0,
        now: () => now,
        retry: { baseDelayMs: 1, maxDelayMs: 5 },
        attemptTimeoutMs: 5_000,
        collect: ({ start, end }) => {
          collected.push({ start: start.getTime(), end: end.getTime() });
          return usage(Math.round((start.getTime() - T0) / H));
        },
        onWindow: (report) => delivered.push(report),
        onWindowFailed: (failure) => failed.push(failure),
        ...overrides,
      });
      meters.push(meter);
      return meter;
    };
    /** The clock reaches the end of window h-1 (plus a little); that window's faults are armed. */
    const reach = (h: number) => {
      now = T0 + h * H + 1_234;
      sandbox.setFaults(h > 40 ? LATE_FAULTS : (FAULTS[h - 1] ?? {}));
    };

    // Process 1: windows 0-15, then a graceful stop.
    const first = newMeter();
    for (let h = 1; h <= 16; h++) {
      reach(h);
      const report = await first.runDue();
      expect(report.status).toBe('idle');
      expect(report.windows).toHaveLength(1);
    }
    await first.stop();

    // Process 2 (restart 1): windows 16-30, then a crash in the middle of window 31.
    const second = newMeter({ retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 } });
    for (let h = 17; h <= 31; h++) {
      reach(h);
      expect((await second.runDue()).status).toBe('idle');
    }
    reach(32);
    const crashed = await second.runDue();
    expect(crashed.status).toBe('retrying');
    expect(crashed.retry?.key).toBe('20250302T070000Z.3600s');
    // The "crash": process 2 is never stopped; its state file says window 31 is pending, frozen.
    const midWindow = JSON.parse(await readFile(statePath, 'utf8'));
    expect(midWindow.pending).toMatchObject({ start: '2025-03-02T07:00:00.000Z', round: 0 });
    expect(midWindow.pending.items).toHaveLength(usage(31).filter((s) => s.delta !== 0).length);

    // Downtime until hour 40, then process 3 (restart 2) catches up windows 31-39 in one run, in order.
    now = T0 + 40 * H + 5;
    sandbox.setFaults({ serverError: { requests: [2] } });
    const third = newMeter();
    const catchUp = await third.runDue();
    expect(catchUp.status).toBe('idle');
    expect(catchUp.windows.map((w) => w.key)).toEqual(Array.from({ length: 9 }, (_, i) => windowKey({ start: T0 + (31 + i) * H, end: T0 + (32 + i) * H })));
    expect(catchUp.windows[0]!.replayed).toBeGreaterThan(0); // the chunk committed before the crash came back as a replay
    for (let h = 41; h <= 48; h++) {
      reach(h);
      expect((await third.runDue()).status).toBe('idle');
    }
    await third.stop();
    await second.stop();

    // Every window exactly once, in order, contiguous: no gap, no overlap.
    expect(failed).toEqual([]);
    expect(delivered).toHaveLength(48);
    delivered.forEach((report, i) => {
      expect(report.start.getTime()).toBe(T0 + i * H);
      expect(report.end.getTime()).toBe(T0 + (i + 1) * H);
      expect(report.delivered).toBe(report.items);
    });
    // collect ran once per window: the frozen snapshots of window 31 were resumed, not collected again.
    expect(collected).toEqual(Array.from({ length: 48 }, (_, i) => ({ start: T0 + i * H, end: T0 + (i + 1) * H })));

    // The ledger holds exactly what collect returned: each snapshot once, with its delta.
    const ledger = sandbox.ledger();
    const expected = new Map<string, { customerId: string; delta: number }>();
    const totals: Record<string, number> = {};
    for (let h = 0; h < 48; h++) {
      const key = windowKey({ start: T0 + h * H, end: T0 + (h + 1) * H });
      for (const s of usage(h)) {
        if (s.delta === 0) continue;
        expected.set(snapshotReferenceId({ scope: SCOPE, name: 'periodic', windowKey: key, customerId: s.customerId, reason: s.reason }), { customerId: s.customerId, delta: s.delta });
        totals[s.customerId] = (totals[s.customerId] ?? 0) + s.delta;
      }
    }
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas).toHaveLength(expected.size);
    for (const d of ledger.deltas) expect({ customerId: d.customerId, delta: d.delta }).toEqual(expected.get(d.referenceId!));
    expect(sumByCustomer(ledger)).toEqual(totals);
    expect(ledger.counts.conflicts).toBe(0);

    // The faults really happened, and were absorbed by retries with the same keys.
    const outcomes = new Set(ledger.requests.map((r) => r.outcome));
    for (const outcome of ['fault:server-error', 'fault:reset', 'fault:commit-drop', 'replayed']) expect(outcomes).toContain(outcome);
    expect(delivered[12]!.requests).toBeGreaterThan(3); // 250 items in 3 chunks, plus retries
    expect(delivered[22]!.rounds).toBe(2); // a per-item CADENCE_LIMIT moved to the next key round
    expect(delivered[9]!.replayed).toBe(delivered[9]!.items); // committed, dropped, then replayed

    // The position is persisted: a fourth start has nothing to do.
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    expect(state).toMatchObject({ nextStart: new Date(T0 + 48 * H).toISOString(), pending: null, failed: null });
    const fourth = newMeter();
    const idle = await fourth.runDue();
    expect(idle.windows).toEqual([]);
    await fourth.stop();
  });

  it('stops at a window PacSpace refuses for good, across restarts, until it is skipped', async () => {
    sandbox.reset();
    sandbox.setFaults({});
    const statePath = join(dir, 'refused.json');
    const T1 = Date.UTC(2025, 3, 1);
    let now = T1 + 5 * H;
    const failures: WindowFailure[] = [];
    const newMeter = () =>
      createPeriodicMeter({
        apiKey: sandbox.apiKey,
        baseUrl: sandbox.url,
        scope: SCOPE,
        statePath,
        startAt: T1,
        now: () => now,
        retry: { baseDelayMs: 1, maxDelayMs: 5 },
        collect: () => [0, 1, 2].map((c) => ({ customerId: `cust-${c}`, delta: -1, reason: REASON })),
        onWindowFailed: (failure) => failures.push(failure),
      });
    // Someone else already used the referenceId window 2 will give cust-1, for a different delta.
    const window2 = { start: T1 + 2 * H, end: T1 + 3 * H };
    const taken = snapshotReferenceId({ scope: SCOPE, name: 'periodic', windowKey: windowKey(window2), customerId: 'cust-1', reason: REASON });
    const client = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    await client.balance.emit('cust-1', -999, REASON, { referenceId: taken, idempotencyKey: 'someone-else' });
    client.close();

    const meter = newMeter();
    const report = await meter.runDue();
    expect(report.status).toBe('failed');
    expect(report.windows.map((w) => w.key)).toEqual(['20250401T000000Z.3600s', '20250401T010000Z.3600s']);
    expect(report.failure).toMatchObject({ key: '20250401T020000Z.3600s', code: 'IDEMPOTENCY_CONFLICT' });
    expect(report.failure!.items).toEqual([expect.objectContaining({ referenceId: taken, customerId: 'cust-1', code: 'IDEMPOTENCY_CONFLICT' })]);
    expect(failures).toHaveLength(1);

    // Later, and after a restart, it stays on that window and sends nothing.
    const requestsBefore = sandbox.ledger().counts.requests;
    now = T1 + 8 * H;
    expect((await meter.runDue()).status).toBe('failed');
    await meter.stop();
    const restarted = newMeter();
    const again = await restarted.runDue();
    expect(again).toMatchObject({ status: 'failed', nextStart: new Date(window2.start) });
    expect(sandbox.ledger().counts.requests).toBe(requestsBefore);
    expect(failures).toHaveLength(1);

    // Moving past it is an explicit decision, recorded in the state.
    expect((await restarted.skipFailed())?.key).toBe('20250401T020000Z.3600s');
    const resumed = await restarted.runDue();
    expect(resumed.status).toBe('idle');
    expect(resumed.windows.map((w) => w.start.getTime())).toEqual([3, 4, 5, 6, 7].map((h) => T1 + h * H));
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    expect(state.skipped).toEqual([expect.objectContaining({ start: new Date(window2.start).toISOString(), code: 'IDEMPOTENCY_CONFLICT' })]);
    await restarted.stop();
  });

  it('stops at the first window when PacSpace refuses the request itself (401), and reports it', async () => {
    sandbox.reset();
    const T2 = Date.UTC(2025, 4, 1);
    const failures: WindowFailure[] = [];
    const meter = createPeriodicMeter({
      apiKey: 'pk_test_wrong.key',
      baseUrl: sandbox.url,
      scope: SCOPE,
      statePath: join(dir, 'unauthorized.json'),
      startAt: T2,
      now: () => T2 + 3 * H,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      collect: () => [{ customerId: 'cust-0', delta: -1, reason: REASON }],
      onWindowFailed: (failure) => failures.push(failure),
    });
    const report = await meter.runDue();
    expect(report).toMatchObject({ status: 'failed', windows: [], failure: { key: '20250501T000000Z.3600s', code: 'INVALID_API_KEY' } });
    expect(failures).toHaveLength(1);
    expect(sandbox.ledger().counts.requests).toBe(1);
    expect(sandbox.ledger().deltas).toEqual([]);
    await meter.stop();
  });
});
