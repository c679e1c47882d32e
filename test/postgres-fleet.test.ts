import { seededRandom, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild, waitFor, type Child } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';
import { GatewayTally, ledgerOutcome, requestIdOf, sendCall, sleep } from './support/gateway-calls.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = join(HERE, 'fixtures', 'durable-app.mjs');
const INSTANCES = 3;
const ROUNDS = 5;
const WORKERS = 4;

/**
 * A fleet (issue #15): three app processes (Express + the default meterRequests(), no meterNow(),
 * a Meter on ONE shared Postgres outbox) serve paid calls under load while the sandbox answers
 * 10% 503s, 5% connection resets and 10% commit-then-drop. Five times, two instances are SIGKILLed
 * at random moments; each is restarted at once or left dead for a while (the last round's stay
 * dead: the survivors must deliver what they left, once their leases expire).
 *
 * The clients behave like a gateway: a call whose answer was cut off is sent again with the same
 * request id, to whichever instance is up. The ledger must then hold exactly one delta per call
 * answered 2xx, none missing, none twice, none for the 503s.
 */
describe('a fleet on one Postgres outbox: SIGKILLs under load', () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  const everyApp: Child[] = [];

  beforeAll(async () => {
    db = await startTestDatabase('fleet');
    sandbox = await startSandbox({ seed: 15 });
  }, 120_000);
  afterAll(async () => {
    for (const app of everyApp) app.child.kill('SIGKILL');
    await sandbox.close();
    await db.stop();
  });

  it('every 2xx answer is in the ledger exactly once, nothing for the others', async () => {
    const seed = Number(process.env.FLEET_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    sandbox.setFaults({
      latencyMs: { min: 1, max: 15 },
      serverError: { rate: 0.1, statuses: [503] },
      resetBeforeProcessing: { rate: 0.05 },
      commitThenDrop: { rate: 0.1 },
    });

    const alive: Array<{ app: Child; port: number }> = [];
    const start = async () => {
      const app = startChild(APP, [], { DATABASE_URL: db.url, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey });
      everyApp.push(app);
      const { listening } = await app.nextLine();
      const instance = { app, port: listening as number };
      alive.push(instance);
      return instance;
    };
    // Instances start at once: their migrations race, under the advisory lock.
    await Promise.all(Array.from({ length: INSTANCES }, start));

    const tally = new GatewayTally(seed);
    const billed = tally.billed;
    let stop = false;
    async function worker(w: number): Promise<void> {
      const agents = new Map<number, Agent>();
      while (!stop) {
        const call = tally.nextCall();
        for (let attempt = 0; ; attempt++) {
          while (alive.length === 0) await sleep(5);
          const target = alive[(w + attempt) % alive.length]!;
          if (!agents.has(target.port)) agents.set(target.port, new Agent({ keepAlive: true, maxSockets: 1 }));
          if (tally.record(call, await sendCall(agents.get(target.port)!, target.port, call))) break;
        }
      }
      for (const agent of agents.values()) agent.destroy();
    }
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    const log: string[] = [];
    let leftDead = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Those left dead last round come back first.
      for (let missing = INSTANCES - alive.length; missing > 0; missing--) await start();
      for (let k = 0; k < 2; k++) {
        const waitMs = Math.round(200 + random() * 600);
        await sleep(waitMs);
        const victim = alive.splice(Math.floor(random() * alive.length), 1)[0]!;
        victim.app.child.kill('SIGKILL');
        expect(await victim.app.exited).toEqual({ code: null, signal: 'SIGKILL' });
        const restart = random() < 0.5;
        log.push(`round ${round}: killed after ${waitMs} ms, ${restart ? 'restarted' : 'left dead'}`);
        if (restart) await start();
        else if (round === ROUNDS - 1) leftDead++;
      }
    }
    await sleep(300);
    stop = true;
    await Promise.all(workers);

    // The survivors deliver everything, the dead instances' rows included (their leases expire after 1 s).
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const outboxRows = async () => (await client.query('SELECT count(*)::int AS n FROM pacspace_metering.outbox')).rows[0].n as number;
    try {
      await waitFor('an empty outbox', async () => (await outboxRows()) === 0, 60_000);
      const closed = [];
      for (const { app } of alive.splice(0)) {
        app.child.kill('SIGTERM');
        closed.push(await app.nextLine());
        expect(await app.exited).toEqual({ code: 0, signal: null });
      }
      expect(closed).toEqual(closed.map(() => ({ closed: true, pending: 0 })));
      expect(await outboxRows()).toBe(0);
      expect((await client.query('SELECT count(*)::int AS n FROM pacspace_metering.dead_letters')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }

    const ledger = sandbox.ledger();
    const outcome = ledgerOutcome(ledger, billed);
    const context = `seed ${seed} (rerun with FLEET_SEED=${seed}); ${log.join('; ')}; ${tally.calls} calls, ${billed.size} billed, ${tally.answeredWithError} answered 503, ${tally.cutOff} cut off and sent again, ${leftDead} left dead at the end`;
    try {
      expect(billed.size).toBeGreaterThan(100);
      expect(tally.answeredWithError).toBeGreaterThan(0);
      expect(outcome).toEqual({ missing: [], unexpected: [], duplicates: [], conflicts: 0 });
      expect(ledger.deltas).toHaveLength(billed.size);
      for (const d of ledger.deltas) expect(d).toMatchObject({ customerId: billed.get(requestIdOf(d.referenceId)), delta: -1, reason: 'api_request' });
      expect(ledger.counts.replayed).toBeGreaterThan(0);
    } catch (err) {
      (err as Error).message += `\n\n${context}`;
      throw err;
    }
    process.stdout.write(`fleet: ${context}\n`);
  }, 240_000);
});
