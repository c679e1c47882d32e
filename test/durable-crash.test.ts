import { buildReferenceId } from '@pacspace-metering/core';
import { duplicateReferenceIds, seededRandom, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { StoreFile } from '@pacspace-metering/sqlite-store';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
    const billed = new Map<string, string>(); // request id echoed by the app -> customer
    let answeredWithError = 0;
    let cutOff = 0;
    let calls = 0;
    let stop = false;
    async function worker(): Promise<void> {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        const n = ++calls;
        const call = { id: `call-${seed}-${n}`, customer: `cust-${n % 5}`, fail: n % 10 === 0 };
        for (;;) {
          const current = await ready;
          const answer = await send(agent, current.port, call);
          if (answer === 'cut-off') {
            cutOff++;
            continue;
          }
          if (answer.status === 200) {
            // The trusted id, bound to the call (its method and URL): the same on every resend.
            expect(answer.requestId).toMatch(new RegExp(`^${call.id}\\.[0-9a-f]{16}$`));
            billed.set(answer.requestId!, call.customer);
          } else {
            expect(answer.status).toBe(503);
            answeredWithError++;
          }
          break;
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
    const expected = [...billed].map(([requestId, customerId]) => buildReferenceId({ scope: 'durable', operation: 'api_request', customerId, requestId }));
    const committed = ledger.deltas.map((d) => d.referenceId);
    const outcome = {
      missing: expected.filter((ref) => !committed.includes(ref)),
      unexpected: committed.filter((ref) => !billed.has(requestIdOf(ref))),
      duplicates: duplicateReferenceIds(ledger),
      conflicts: ledger.counts.conflicts,
    };
    const context = `seed ${seed} (rerun with DURABLE_CRASH_SEED=${seed}), killed after ${killedAfterMs.join(', ')} ms, ${calls} calls, ${billed.size} billed, ${cutOff} cut off and sent again`;
    try {
      expect(generations.slice(0, KILLS).map((g) => g.exit)).toEqual(Array(KILLS).fill({ code: null, signal: 'SIGKILL' }));
      expect(closed).toEqual({ closed: true, pending: 0 });
      expect(generations[KILLS]!.exit).toEqual({ code: 0, signal: null });
      // Under load: every kill left deltas accepted but not yet delivered, which the next process resent.
      expect(generations.slice(1).filter((g) => g.resumed > 0).length).toBeGreaterThan(0);
      expect(billed.size).toBeGreaterThan(100);
      expect(answeredWithError).toBeGreaterThan(0);

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

      const file = StoreFile.open(path);
      expect(file.status()).toMatchObject({ pending: 0, deadLetters: { total: 0 }, openBy: null });
      file.close();
    } catch (err) {
      (err as Error).message += `\n\n${context}; resumed per start: ${generations.map((g) => g.resumed).join(', ')}`;
      throw err;
    }
  });
});

interface RunningApp {
  child: ChildProcess;
  port: number;
  /** Deltas the process found in the store when it started. */
  resumed: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The next JSON line the app prints. */
  nextLine(): Promise<unknown>;
}

async function startApp(path: string, sandbox: Sandbox): Promise<RunningApp> {
  const child = spawn(process.execPath, [APP], {
    cwd: HERE,
    env: { ...process.env, STORE_PATH: path, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => (waiting.shift() ?? ((l: string) => lines.push(l)))(line));
  const nextLine = () =>
    new Promise<unknown>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      waiting.push((l) => resolve(JSON.parse(l)));
      exited.then(({ code, signal }) => reject(new Error(`the app exited (code ${code}, signal ${signal}) before printing a line: ${stderr}`)));
    });
  const { listening, resumed } = (await nextLine()) as { listening: number; resumed: number };
  return { child, port: listening, resumed, exited, nextLine };
}

type Answer = { status: number; requestId: string | undefined } | 'cut-off';

/** One attempt of a call: its status and echoed request id, or 'cut-off' when no complete answer arrived. */
function send(agent: Agent, port: number, call: { id: string; customer: string; fail: boolean }): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'x-request-id': call.id, 'x-customer': call.customer };
    if (call.fail) headers['x-fail'] = '503';
    const req = request({ host: '127.0.0.1', port, path: `/v1/reports/${call.id}`, agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.complete ? { status: res.statusCode!, requestId: res.headers['x-request-id'] as string | undefined } : 'cut-off'));
      res.once('error', () => resolve('cut-off'));
      res.once('close', () => res.complete || resolve('cut-off'));
    });
    req.once('error', () => resolve('cut-off'));
    req.end();
  });
}

/** The request id a referenceId was built from: its last segment (`{scope}:{reason}:{customer}:{requestId}`). */
function requestIdOf(referenceId: string | null): string {
  return referenceId === null ? '' : referenceId.slice(referenceId.lastIndexOf(':') + 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
