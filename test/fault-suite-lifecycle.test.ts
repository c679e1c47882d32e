// Fault-injection suite, lifecycle: PacSpace going away and coming back while the example apps
// serve traffic, and the apps sent SIGTERM mid-run as real processes (node dist/main.js).
//
// - In process: the sandbox is stopped mid-run, the app keeps answering and queues usage, the
//   sandbox comes back, and the backlog is delivered exactly once.
// - As a process, SIGTERM during an outage that ends while the app shuts down: in-flight calls
//   finish, new connections are refused, and everything is delivered before the process exits 0.
// - As a process, SIGTERM during an outage that outlasts SHUTDOWN_TIMEOUT_MS: the app exits 0 and
//   reports as pending exactly the deltas PacSpace does not have.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import {
  billable,
  EXAMPLE_NAMES,
  expectExactlyOnce,
  makeClient,
  processEnv,
  startInProcess,
  traffic,
  type Call,
  type ExampleName,
} from './support/example-apps.js';
import { trackUnhandledRejections, waitFor } from './support/wait.js';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { buildExamples, startExample } from '../examples/demo/lib/processes.mjs';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { eventDeltas, expectedDeltas } from '../examples/demo/lib/reconcile.mjs';

interface ShutdownLine {
  close: { delivered: number; pending: number; timedOut: boolean; pendingReferenceIds: string[] };
  stats: { delivered: number; dropped: Record<string, number>; inFlight: number; queued: number };
}

interface ExampleProcess {
  url: string;
  scope: string;
  child: { kill(signal: string): boolean };
  exited: Promise<{ code: number | null; signal: string | null }>;
  waitForEvent(name: string, timeoutMs?: number): Promise<ShutdownLine & Record<string, unknown>>;
  stderr(): string;
  kill(): void;
}

/** Requests the app's Meter has in flight to PacSpace at most. */
const METER_CONCURRENCY = 8;

const launch = startExample as (name: ExampleName, env: Record<string, string>) => Promise<ExampleProcess>;

describe.each(EXAMPLE_NAMES)('%s: PacSpace stopped for a while and restarted mid-run', (name) => {
  const unhandled = trackUnhandledRejections();
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 5, faults: { serverError: { rate: 0.1 }, commitThenDrop: { rate: 0.05 } } });
  });
  afterAll(async () => {
    unhandled.stop();
    await sandbox.close();
  });

  it('keeps answering and queues usage during the outage, then delivers the backlog exactly once', async () => {
    const running = await startInProcess(name, sandbox, { retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    const client = makeClient(running.url, { maxSockets: 8 });

    const before = await traffic(client, { ops: 300, concurrency: 8, seed: 21, tag: 'before' });
    await sandbox.stop();
    const committedAtStop = sandbox.ledger().deltas.length;
    const retriedAtStop = running.meter.stats().retried;

    const during = await traffic(client, { ops: 300, concurrency: 8, seed: 22, tag: 'during' });
    // The API does not depend on PacSpace: the same kinds of answers as before the outage.
    expect(during.filter(billable).length).toBeGreaterThan(100);
    // "For a while": until the Meter has failed several attempts against the stopped sandbox.
    await waitFor(() => running.meter.stats().retried >= retriedAtStop + 10, 'the meter retrying during the outage');
    const stats = running.meter.stats();
    expect(stats.queued + stats.inFlight).toBeGreaterThan(0);
    expect(stats.dropped).toEqual({});
    expect(sandbox.ledger().deltas.length).toBe(committedAtStop);

    await sandbox.start();
    const after = await traffic(client, { ops: 300, concurrency: 8, seed: 23, tag: 'after' });
    client.close();
    const { close } = await running.close(60_000);

    expect(close).toMatchObject({ pending: 0, timedOut: false });
    expectExactlyOnce([...before, ...during, ...after], running.scope, sandbox.ledger());
    expect(unhandled.count()).toBe(0);
  });
});

describe.each(EXAMPLE_NAMES)('%s as a process: SIGTERM mid-run', (name) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    // The spawned apps run their compiled dist (and the packages' dist): build the examples if stale.
    await buildExamples([name]);
  }, 120_000);
  beforeEach(async () => {
    sandbox = await startSandbox({ seed: 9, faults: { latencyMs: { min: 0, max: 10 }, serverError: { rate: 0.15 }, commitThenDrop: { rate: 0.05 } } });
  });
  afterEach(async () => {
    await sandbox.close();
  });

  const env = (extra: Record<string, string>) => processEnv(sandbox, { METER_CONCURRENCY: String(METER_CONCURRENCY), ...extra });

  /**
   * Drives traffic (a new connection per call, so "refused" means the server stopped listening)
   * until the app refuses connections. PacSpace is stopped once 300 calls are done; the app gets
   * SIGTERM once 20 more calls were billable (their deltas cannot have been delivered). `onStopping`
   * runs once the app said it is stopping. Resolves with every call and the shutdown line.
   */
  async function sigtermDuringOutage(app: ExampleProcess, onStopping: () => Promise<void>) {
    const client = makeClient(app.url, { keepAlive: false, maxSockets: 8 });
    let done = 0;
    let billableDuringOutage = 0;
    const duringOutage: Call[] = [];
    let outage = false;
    let refused = false;
    const run = traffic(client, {
      ops: 1_000_000,
      concurrency: 8,
      seed: 31,
      stop: () => refused,
      onCall: (call: Call) => {
        done++;
        if (outage && billable(call)) {
          billableDuringOutage++;
          duringOutage.push(call);
        }
        if (call.error === 'ECONNREFUSED') refused = true;
      },
    });
    await waitFor(() => done >= 300, '300 calls');
    await sandbox.stop();
    outage = true;
    const lastSeqBeforeStop = Math.max(0, ...sandbox.ledger().requests.map((r) => r.seq));
    await waitFor(() => billableDuringOutage >= 20, '20 billable calls during the outage');
    app.child.kill('SIGTERM');
    await app.waitForEvent('stopping', 10_000);
    await onStopping();
    const calls = await run;
    client.close();
    const [shutdown, exit] = await Promise.all([app.waitForEvent('shutdown'), app.exited]);
    expect(exit).toEqual({ code: 0, signal: null });
    // Calls stopped because the server stopped listening, not because the plan ran out.
    expect(calls.filter((c) => c.error === 'ECONNREFUSED').length).toBeGreaterThan(0);
    return { calls, shutdown, lastSeqBeforeStop, duringOutage };
  }

  it('outage ends during shutdown: in-flight calls finish, everything is delivered before exit', async () => {
    const app = await launch(name, env({ SHUTDOWN_TIMEOUT_MS: '30000' }));
    try {
      let committedAtRestart = new Set<string>();
      const { calls, shutdown, duringOutage } = await sigtermDuringOutage(app, async () => {
        committedAtRestart = new Set(sandbox.ledger().deltas.map((d) => d.referenceId!));
        await sandbox.start();
      });
      expect(shutdown.close).toMatchObject({ pending: 0, timedOut: false, pendingReferenceIds: [] });
      // PacSpace was down from before SIGTERM until the app said it was stopping, so the deltas of
      // the outage's calls that it did not have then can only have reached it during the shutdown.
      const backlog = [...(expectedDeltas(duringOutage, app.scope) as Map<string, unknown>).keys()].filter((id) => !committedAtRestart.has(id));
      expect(backlog.length).toBeGreaterThan(0);
      const committedNow = new Set(sandbox.ledger().deltas.map((d) => d.referenceId!));
      expect(backlog.filter((id) => !committedNow.has(id))).toEqual([]);
      expect(shutdown.stats.dropped).toEqual({});
      expectExactlyOnce(calls, app.scope, sandbox.ledger());
    } finally {
      app.kill();
    }
  });

  it('outage outlasts SHUTDOWN_TIMEOUT_MS: exits 0 and reports exactly the undelivered deltas as pending', async () => {
    const app = await launch(name, env({ SHUTDOWN_TIMEOUT_MS: '1500' }));
    try {
      const { calls, shutdown, lastSeqBeforeStop } = await sigtermDuringOutage(app, async () => undefined);
      const { close, stats } = shutdown;
      expect(close.timedOut).toBe(true);
      expect(close.pending).toBeGreaterThanOrEqual(20);
      expect(close.pendingReferenceIds).toHaveLength(close.pending);
      // Unsent deltas are dropped as `shutdown` (counted, reported), the in-flight rest is pending too.
      // How many were still waiting rather than travelling in a batch depends on timing: none, when
      // every one of them was in a batch in flight.
      expect(stats.dropped.shutdown ?? 0).toBeLessThanOrEqual(close.pending);

      // What PacSpace has plus what was reported pending is exactly what should have been billed:
      // nothing lost without a trace, nothing billed that should not be, nothing counted twice.
      const ledger = sandbox.ledger();
      const expected = [...(expectedDeltas(calls, app.scope) as Map<string, unknown>).keys()].sort();
      const committed = (eventDeltas(ledger, app.scope) as Array<{ referenceId: string }>).map((d) => d.referenceId);
      const pending = close.pendingReferenceIds;
      expect(new Set(committed).size).toBe(committed.length);
      expect([...new Set([...committed, ...pending])].sort()).toEqual(expected);
      // A pending delta PacSpace nevertheless has is one whose commit the Meter never heard of: the
      // answer was lost (commit-then-drop, or one of the at most METER_CONCURRENCY requests in
      // flight when the sandbox stopped: a single delta keyed by its referenceId, or a batch, whose
      // committed records name theirs), or a client retry billed under the referenceId of a call
      // already delivered (same Idempotency-Key), which PacSpace would answer as a replay.
      const referenceIdOf = new Map(ledger.deltas.map((d) => [d.recordId, d.referenceId]));
      const answerLost = new Set(
        ledger.requests
          .filter((r) => r.outcome === 'fault:commit-drop' || r.seq > lastSeqBeforeStop - METER_CONCURRENCY)
          .flatMap((r) => [r.idempotencyKey, ...(r.recordIds ?? []).map((id) => referenceIdOf.get(id))]),
      );
      const billedTwice = new Set(
        calls
          .filter(billable)
          .map((c) => c.requestId)
          .filter((id, i, all) => all.indexOf(id) !== i),
      );
      const unexplained = committed.filter((id) => pending.includes(id) && !answerLost.has(id) && !billedTwice.has(id.split(':').pop()));
      expect(unexplained).toEqual([]);
    } finally {
      app.kill();
    }
  });
});
