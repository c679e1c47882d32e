import { seededRandom, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { SqliteOutbox } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from '../packages/postgres-store/test-support/helpers.js';
import { GatewayTally, ledgerOutcome, requestIdOf, sendCall, sleep } from './support/gateway-calls.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = join(HERE, 'fixtures', 'durable-app.mjs');
const KILLS = 5;
const WORKERS = 8;

/**
 * A real app process (Express + meterRequests/meterNow + a Meter on a SQLite store, the built
 * packages) serves paid calls under load from this test and is killed with SIGKILL at random
 * moments, five times, each time restarted on the same store file, while the sandbox (in this
 * process, over loopback) answers with 5xx, connection resets and commit-then-drop.
 *
 * The client behaves like a gateway: every call carries its own request id, and a call whose
 * answer was cut off by a kill is sent again with the same id until an answer arrives. The ledger
 * must then hold exactly one delta per call answered 2xx (none for the 503s, none missing, none
 * twice), each with the body accepted for it.
 *
 * The app bills with the default middleware, plain meterRequests() and no meterNow(): with a
 * durable store it accepts each delta when the handler ends the response, before the answer
 * leaves, so a SIGKILL between the answer and `finish` cannot lose a delta the client was answered
 * for (issue #15). Before that change this test failed now and then in this mode.
 */
describe('durable outbox: SIGKILL under load, five times', () => {
  let sandbox: Sandbox;
  let dir: string;
  let app: RunningApp | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'durable-crash-'));
    sandbox = await startSandbox({ seed: 8 });
  });
  afterAll(async () => {
    app?.child.kill('SIGKILL');
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the ledger ends with exactly one delta per successful request', async () => {
    const seed = Number(process.env.DURABLE_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const path = join(dir, 'metering.db');
    sandbox.setFaults({
      latencyMs: { min: 1, max: 15 },
      serverError: { rate: 0.1 },
      resetBeforeProcessing: { rate: 0.05 },
      commitThenDrop: { rate: 0.05 },
    });

    // ---- the app, restartable; `ready` resolves once the current process listens ----
    let ready: Promise<RunningApp> = startApp(path, sandbox);
    app = await ready;
    const generations: Array<{ resumed: number; exit?: { code: number | null; signal: NodeJS.Signals | null } }> = [{ resumed: app.resumed }];

    // ---- the load: WORKERS clients, each call retried with its id until it is answered ----
    const tally = new GatewayTally(seed);
    const billed = tally.billed;
    let stop = false;
    async function worker(): Promise<void> {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        const call = tally.nextCall();
        for (;;) {
          const current = await ready;
          if (tally.record(call, await sendCall(agent, current.port, call))) break;
        }
      }
      agent.destroy();
    }
    const workers = Array.from({ length: WORKERS }, worker);

    // ---- five kills at random moments, each followed by a restart on the same file ----
    const killedAfterMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const waitMs = Math.round(400 + random() * 800);
      killedAfterMs.push(waitMs);
      await sleep(waitMs);
      const victim = app;
      let restarted!: (next: RunningApp) => void;
      ready = new Promise((resolve) => (restarted = resolve));
      victim.child.kill('SIGKILL');
      generations[generations.length - 1]!.exit = await victim.exited;
      app = await startApp(path, sandbox);
      generations.push({ resumed: app.resumed });
      restarted(app);
    }
    await sleep(300);
    stop = true;
    await Promise.all(workers);

    // ---- a clean shutdown drains what is left ----
    app.child.kill('SIGTERM');
    const closed = await app.nextLine();
    generations[generations.length - 1]!.exit = await app.exited;
    app = undefined;

    const ledger = sandbox.ledger();
    const outcome = ledgerOutcome(ledger, billed);
    const context = `seed ${seed} (rerun with DURABLE_CRASH_SEED=${seed}), killed after ${killedAfterMs.join(', ')} ms, ${tally.calls} calls, ${billed.size} billed, ${tally.cutOff} cut off and sent again`;
    try {
      expect(generations.slice(0, KILLS).map((g) => g.exit)).toEqual(Array(KILLS).fill({ code: null, signal: 'SIGKILL' }));
      expect(closed).toEqual({ closed: true, pending: 0 });
      expect(generations[KILLS]!.exit).toEqual({ code: 0, signal: null });
      // Under load: every kill left deltas accepted but not yet delivered, which the next process resent.
      expect(generations.slice(1).filter((g) => g.resumed > 0).length).toBeGreaterThan(0);
      expect(billed.size).toBeGreaterThan(100);
      expect(tally.answeredWithError).toBeGreaterThan(0);

      expect(outcome).toEqual({ missing: [], unexpected: [], duplicates: [], conflicts: 0 });
      expect(ledger.deltas).toHaveLength(billed.size);
      for (const d of ledger.deltas) {
        expect(d).toMatchObject({ customerId: billed.get(requestIdOf(d.referenceId)), delta: -1, reason: 'api_request' });
        // Committed by a batch request (deduplicated by referenceId under the batch's key).
        expect(d.idempotencyKey).toMatch(/^durable:batch:\d+:[0-9a-f]{32}$/);
        expect(d.metadata).toEqual({ route: '/v1/reports/:id', method: 'GET' });
      }
      // Some deliveries were interrupted (commit-then-drop, kills mid-send) and resent: PacSpace answered with a replay.
      expect(ledger.counts.replayed).toBeGreaterThan(0);

      const file = SqliteOutbox.open(path);
      expect(file.status()).toMatchObject({ pending: 0, deadLetters: { total: 0 }, openBy: null });
      file.close();
    } catch (err) {
      (err as Error).message += `\n\n${context}; resumed per start: ${generations.map((g) => g.resumed).join(', ')}`;
      throw err;
    }
  });
});

/** The app process on its port; `resumed` = deltas it found in the store when it started. */
interface RunningApp extends Child {
  port: number;
  resumed: number;
}

async function startApp(path: string, sandbox: Sandbox): Promise<RunningApp> {
  const app = startChild(APP, [], { STORE_PATH: path, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey });
  const { listening, resumed } = (await app.nextLine()) as { listening: number; resumed: number };
  return { ...app, port: listening, resumed };
}
