// The fault matrix of the suite: one example app, in this process, against the sandbox under each
// fault alone and all of them together, with the mixed traffic of examples/demo/lib/traffic.mjs.
// Each test file calls describeFaultRuns() for one app, so Jest runs the two apps in parallel.
import { PacSpaceApiError } from '@pacspace-metering/core';
import { startSandbox, type FaultConfig, type Outcome, type Sandbox } from '@pacspace-metering/sandbox';
import { expectExactlyOnce, FAST_RETRIES, makeClient, startInProcess, statusCounts, traffic, type ExampleName, type MeterTuning } from './example-apps.js';
import { trackUnhandledRejections } from './wait.js';

/** Operations per run (about 1.15 HTTP calls each); two apps, so a few thousand calls per fault. */
export const OPS_PER_RUN = 1_000;

interface FaultRun {
  name: string;
  faults: FaultConfig;
  /** Outcomes the sandbox must have logged at least once, so the fault really happened. */
  outcomes: Outcome[];
}

/**
 * Smaller batches than the default (100 deltas, 1 s linger), so that a run makes a few dozen
 * requests for the faults to hit. Each fault also fires on fixed early request numbers, so it
 * happens in every run, however the traffic's timing groups the deltas.
 */
export const SUITE_METER: MeterTuning = { ...FAST_RETRIES, maxBatchSize: 20, flushIntervalMs: 50 };

export const FAULT_RUNS: FaultRun[] = [
  { name: '5xx', faults: { serverError: { rate: 0.3, requests: [1, 3] } }, outcomes: ['fault:server-error'] },
  { name: 'connection resets', faults: { resetBeforeProcessing: { rate: 0.2, requests: [1, 3] } }, outcomes: ['fault:reset'] },
  { name: 'commit-then-drop', faults: { commitThenDrop: { rate: 0.2, requests: [1, 3] } }, outcomes: ['fault:commit-drop', 'replayed'] },
  { name: '429 with Retry-After', faults: { rateLimit: { requests: [4, 12], retryAfterSeconds: 1 } }, outcomes: ['fault:rate-limit'] },
  { name: 'latency', faults: { latencyMs: { min: 1, max: 40 } }, outcomes: ['committed'] },
  {
    name: 'all together',
    faults: {
      latencyMs: { min: 0, max: 20 },
      serverError: { rate: 0.15, requests: [2] },
      resetBeforeProcessing: { rate: 0.08, requests: [3] },
      commitThenDrop: { rate: 0.08, requests: [5] },
      rateLimit: { requests: [8, 9, 10], retryAfterSeconds: 1 },
    },
    outcomes: ['fault:server-error', 'fault:reset', 'fault:commit-drop', 'fault:rate-limit', 'replayed'],
  },
];

export function describeFaultRuns(app: ExampleName): void {
  describe.each(FAULT_RUNS)(`${app} -> sandbox with $name`, ({ faults, outcomes }) => {
    const unhandled = trackUnhandledRejections();
    let sandbox: Sandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ seed: 7, faults });
    });
    afterAll(async () => {
      unhandled.stop();
      await sandbox.close();
    });

    it(`bills every successful paid call exactly once (${OPS_PER_RUN} operations of mixed traffic)`, async () => {
      const running = await startInProcess(app, sandbox, SUITE_METER);
      const client = makeClient(running.url, { maxSockets: 16 });
      const calls = await traffic(client, { ops: OPS_PER_RUN, concurrency: 16, seed: 11 });
      client.close();
      const { close, stats } = await running.close(60_000);

      // Shutdown delivered everything: nothing pending, nothing dropped, nothing failed.
      expect(close).toMatchObject({ pending: 0, timedOut: false, pendingReferenceIds: [] });
      expect(stats).toMatchObject({ queued: 0, inFlight: 0, dropped: {}, failed: {} });

      const ledger = sandbox.ledger();
      const { billableCalls, expected } = expectExactlyOnce(calls, running.scope, ledger);

      // The mix really was mixed: successes, client retries answered from the app's idempotency
      // store (more billable calls than billing ids), and every kind of failure.
      expect(billableCalls).toBeGreaterThan(expected);
      expect(expected).toBeGreaterThan(OPS_PER_RUN / 3);
      expect(Object.keys(statusCounts(calls)).sort()).toEqual(['200', '201', '400', '401', '404', '409', '500', 'aborted']);
      // The fault really happened, and the Meter went through it.
      for (const outcome of outcomes) expect(ledger.requests.filter((r) => r.outcome === outcome).length).toBeGreaterThan(0);
      if (outcomes.some((o) => o.startsWith('fault:'))) expect(stats.retried).toBeGreaterThan(0);
      if (outcomes.includes('replayed')) expect(stats.deduplicated).toBeGreaterThan(0);
      // Retry-After is a floor: every retry after a 429 waited at least the second it asked for.
      const after429 = running.retries.filter((r) => r.error instanceof PacSpaceApiError && r.error.status === 429);
      if (outcomes.includes('fault:rate-limit')) expect(after429.length).toBeGreaterThan(0);
      for (const retry of after429) expect(retry.delayMs).toBeGreaterThanOrEqual(1_000);
      expect(unhandled.count()).toBe(0);
    });
  });
}
