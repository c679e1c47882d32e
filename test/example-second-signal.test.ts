// Issue #13, item 4: the example apps, as real processes, get a second SIGTERM and a SIGINT while
// their shutdown is still delivering the deltas queued during a PacSpace outage. Before, the second
// signal exited at once and lost what was queued without a word; now it is logged and ignored, and
// the shutdown delivers everything and reports it.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { billable, EXAMPLE_NAMES, expectExactlyOnce, makeClient, processEnv, traffic, type Call, type ExampleName } from './support/example-apps.js';
import { waitFor } from './support/wait.js';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { buildExamples, startExample } from '../examples/demo/lib/processes.mjs';

interface ExampleProcess {
  url: string;
  scope: string;
  child: { kill(signal: string): boolean };
  exited: Promise<{ code: number | null; signal: string | null }>;
  waitForEvent(name: string, timeoutMs?: number): Promise<Record<string, any>>;
  kill(): void;
}

const launch = startExample as (name: ExampleName, env: Record<string, string>) => Promise<ExampleProcess>;

describe.each(EXAMPLE_NAMES)('%s as a process: a second signal during shutdown', (name) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    await buildExamples([name]);
    sandbox = await startSandbox({ seed: 13 });
  }, 120_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it('is logged and ignored: the drain still delivers everything queued, exactly once, and reports it', async () => {
    const app = await launch(name, processEnv(sandbox, { SHUTDOWN_TIMEOUT_MS: '30000' }));
    try {
      // Traffic with PacSpace down, so the deltas wait in the Meter when the signals come.
      await sandbox.stop();
      const client = makeClient(app.url, { keepAlive: false, maxSockets: 8 });
      let billed = 0;
      let refused = false;
      const run = traffic(client, {
        ops: 1_000_000,
        concurrency: 8,
        seed: 41,
        stop: () => refused,
        onCall: (call: Call) => {
          if (billable(call)) billed++;
          if (call.error === 'ECONNREFUSED') refused = true;
        },
      });
      await waitFor(() => billed >= 50, '50 billable calls during the outage');
      app.child.kill('SIGTERM');
      await app.waitForEvent('stopping', 10_000);
      app.child.kill('SIGTERM');
      app.child.kill('SIGINT');
      // PacSpace has nothing yet; the drain is waiting for it when the second signal arrives.
      await app.waitForEvent('signal-ignored', 10_000);
      expect(sandbox.ledger().deltas).toEqual([]);
      await sandbox.start();
      const calls = await run;
      client.close();

      const [shutdown, exit] = await Promise.all([app.waitForEvent('shutdown', 60_000), app.exited]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(shutdown.close).toMatchObject({ pending: 0, timedOut: false, pendingReferenceIds: [] });
      expect(shutdown.stats.dropped).toEqual({});
      // PacSpace had none of them when the second signal came: the drain delivered them all after it.
      // (50 billable calls are at least 25 deltas: a client retry of a create bills under the same id.)
      const { expected } = expectExactlyOnce(calls, app.scope, sandbox.ledger());
      expect(expected).toBeGreaterThanOrEqual(25);
    } finally {
      app.kill();
    }
  });
});
