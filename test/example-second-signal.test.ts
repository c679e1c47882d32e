// Issue #13, item 4: the example apps, as real processes, get a second SIGTERM and a SIGINT while
// their shutdown is still delivering the deltas queued during a PacSpace outage. Before, the second
// signal exited at once and lost what was queued without a word; now it is logged and ignored, and
// the shutdown delivers everything and reports it. The same holds for the Nest shutdown the READMEs
// recommend (`app.enableShutdownHooks()`, the module closing its Meter).
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { billable, EXAMPLE_NAMES, expectExactlyOnce, makeClient, processEnv, traffic, type Call, type ExampleName } from './support/example-apps.js';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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

describe("Nest's enableShutdownHooks(), as the READMEs recommend: a second SIGTERM during shutdown", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  it('does not cut the Meter\'s drain short: every queued delta is delivered before the process ends', async () => {
    await sandbox.stop();
    const app = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nest-shutdown-hooks-app.mjs');
    const child = spawn(process.execPath, [app], { env: { ...process.env, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    try {
      await waitFor(() => lines.some((l) => l.ready), 'the app ready');
      child.kill('SIGTERM');
      await waitFor(() => lines.some((l) => l.event === 'stopping'), 'Nest running its shutdown hooks');
      child.kill('SIGTERM');
      // PacSpace comes back only after the second signal: what it gets, the drain delivered after it.
      expect(sandbox.ledger().deltas).toEqual([]);
      await sandbox.start();
      // Nest re-raises the signal once its shutdown is done.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      child.kill('SIGKILL');
    }
    expect(lines.filter((l) => l.dropped)).toEqual([]);
    expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `nest-hooks:api_request:acme:hooks-${i}`));
  });
});
