// The main job in one run. A local PacSpace (the sandbox) that fails often; the two example APIs
// (Express and NestJS) as real processes billing into it; a realistic mix of traffic against both;
// SIGTERM; then a reconciliation of what the clients saw against what PacSpace committed, per app
// and per customer. Exits non-zero if any row does not reconcile.
//
//   node examples/demo/index.mjs          (the root `pnpm demo` builds the packages first)
//   node examples/demo/index.mjs --postgres
//       runs each app as TWO instances on one shared Postgres outbox (a throwaway cluster, or
//       DEMO_POSTGRES_URL): each instance has its own scope, and any instance delivers any row.
//
// DEMO_SECONDS (how long traffic runs, default 12) and DEMO_SEED change the run.
import { startSandbox } from '@pacspace-metering/sandbox';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, startCluster } from './lib/pg-cluster.mjs';
import { buildExamples, startExample } from './lib/processes.mjs';
import { reconcileEvents, reconcileStorage } from './lib/reconcile.mjs';
import { reconcileTokens } from './lib/llm-reconcile.mjs';
import { runLlmTraffic } from './lib/llm-traffic.mjs';
import { printTable } from './lib/table.mjs';
import { API_KEYS_ENV, createClient, isBillable, runTraffic } from './lib/traffic.mjs';

const SECONDS = Number(process.env.DEMO_SECONDS ?? 12);
const STORAGE_INTERVAL = '4s';
const SEED = Number(process.env.DEMO_SEED ?? 2026);
const APPS = ['express-app', 'nestjs-app'];
const POSTGRES = process.argv.includes('--postgres');
/** What runs: one process per app, or two per app on one Postgres outbox. */
const INSTANCES = APPS.flatMap((name) => (POSTGRES ? [1, 2].map((n) => ({ name, label: `${name}#${n}`, scope: `${name}-${n}` })) : [{ name, label: name, scope: undefined }]));
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line) => console.log(`[${elapsed()}] ${line}`);

const built = await buildExamples([...APPS, 'llm-api']);
say(built.length ? `built ${built.map((n) => `examples/${n}`).join(', ')} (tsc)` : 'examples are built');

const FAULTS = {
  latencyMs: { min: 0, max: 8 },
  serverError: { rate: 0.12 },
  resetBeforeProcessing: { rate: 0.05 },
  commitThenDrop: { rate: 0.05 },
  rateLimit: { requests: [300, 301, 2000, 2001], retryAfterSeconds: 1 },
};
const sandbox = await startSandbox({ seed: SEED, faults: FAULTS });
say(`sandbox (local PacSpace) on ${sandbox.url}: 12% 5xx, 5% connection resets, 5% commit-then-drop, 429 with Retry-After: 1 s around the 300th and 2000th write, 0-8 ms latency`);

const stateDir = mkdtempSync(join(tmpdir(), 'pacspace-demo-'));
const cluster = POSTGRES && !process.env.DEMO_POSTGRES_URL ? await startCluster({ fsync: false }) : undefined;
const outboxUrl = POSTGRES ? await freshDatabase(process.env.DEMO_POSTGRES_URL ?? cluster.url) : undefined;
if (POSTGRES) say(`Postgres outbox: ${cluster ? 'a throwaway cluster in a temporary directory' : 'DEMO_POSTGRES_URL'}, shared by ${INSTANCES.map((i) => i.label).join(', ')}`);
const env = ({ label, scope }) => ({
  ...(POSTGRES ? { METER_POSTGRES_URL: outboxUrl, METERING_SCOPE: scope } : {}),
  PORT: '0',
  HOST: '127.0.0.1',
  PACSPACE_API_KEY: sandbox.apiKey,
  PACSPACE_BASE_URL: sandbox.url,
  API_KEYS: API_KEYS_ENV,
  METER_RETRY_BASE_MS: '20',
  METER_RETRY_MAX_MS: '400',
  STORAGE_BILLING_INTERVAL: STORAGE_INTERVAL,
  STORAGE_BILLING_STATE: join(stateDir, `${label}.storage.json`),
  SHUTDOWN_TIMEOUT_MS: '20000',
});
let exitCode = 1;
let apps = [];
let llm;
try {
  // examples/llm-api: SSE completions billed per token sent (input and output tokens), cache hits free.
  llm = await startExample('llm-api', { PORT: '0', HOST: '127.0.0.1', PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url, API_KEYS: API_KEYS_ENV, METER_RETRY_BASE_MS: '20', METER_RETRY_MAX_MS: '400', TOKEN_DELAY_MS: '2' });
  say(`llm-api listening on ${llm.url} (scope "${llm.scope}"): JSON and SSE completions, input and output tokens billed apart`);
  const starting = await Promise.allSettled(INSTANCES.map((instance) => startExample(instance.name, env(instance)).then((app) => ({ ...app, name: instance.label }))));
  apps = starting.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failed = starting.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  for (const app of apps) say(`${app.name} listening on ${app.url} (scope "${app.scope}", storage billed every ${STORAGE_INTERVAL})`);

  const counts = Object.fromEntries(INSTANCES.map(({ label }) => [label, { calls: 0, paid: 0, failed: 0 }]));
  const progress = setInterval(() => {
    const { counts: s } = sandbox.ledger();
    const perApp = INSTANCES.map(({ label: name }) => `${name} ${counts[name].calls} calls (${counts[name].paid} paid ok, ${counts[name].failed} failed)`).join(' | ');
    say(`${perApp} | PacSpace: ${s.committed} committed, ${s.replayed} replays, ${s.faults} faults injected`);
  }, 1_000);
  say(`driving traffic at both apps for ${SECONDS} s: paid, free, failing (400/401/404/409/500), aborted uploads, client retries with one Idempotency-Key`);
  const until = Date.now() + SECONDS * 1_000;
  const llmCalls = runLlmTraffic(llm.url, { stop: () => Date.now() >= until, seed: SEED, concurrency: 6 });
  const results = await Promise.all(
    apps.map((app, i) => {
      const client = createClient(app.url, { maxSockets: 8 });
      return runTraffic(client, {
        ops: Infinity,
        concurrency: 6,
        stop: () => Date.now() >= until,
        seed: SEED + i,
        tag: POSTGRES ? `demo${SEED}-${i}` : `demo${SEED}`,
        onCall: (call) => {
          const c = counts[app.name];
          c.calls++;
          if (isBillable(call)) c.paid++;
          else if (call.status === 0 || call.status >= 400) c.failed++;
        },
      }).finally(() => client.close());
    }),
  );
  clearInterval(progress);

  const llmResults = await llmCalls;
  say('traffic done; sending SIGTERM to the apps (they stop accepting, finish in-flight calls, flush their Meter)');
  const [stopped, llmStopped] = await Promise.all([Promise.all(apps.map((app) => app.terminate())), llm.terminate()]);
  for (const [i, { shutdown, exit }] of stopped.entries()) {
    const { stats, close } = shutdown;
    say(
      `${apps[i].name} exited ${exit.code ?? exit.signal}: delivered ${stats.delivered} (${stats.deduplicated} replays), ${stats.retried} retries, ` +
        `dropped ${JSON.stringify(stats.dropped)}, pending at exit ${close.pending}${close.timedOut ? ' (close timed out)' : ''}`,
    );
  }

  const ledger = sandbox.ledger();
  const rows = apps.flatMap((app, i) => reconcileEvents({ app: app.name, scope: app.scope, calls: results[i], ledger, byCustomer: stopped[i].shutdown.byCustomer }));
  const storage = apps.map((app, i) => reconcileStorage({ app: app.name, scope: app.scope, windows: stopped[i].shutdown.storage?.windows ?? [], pendingWindow: stopped[i].shutdown.storage?.pendingWindow, ledger }));

  console.log('\nPer-request billing (event-driven): what the clients saw vs. what PacSpace committed');
  printTable(rows);
  console.log(`Storage billed per ${STORAGE_INTERVAL} window (periodic): what the apps delivered vs. what PacSpace committed`);
  printTable(storage);
  const calls = results.flat();
  const byStatus = {};
  for (const call of calls) byStatus[call.status === 0 ? 'aborted' : call.status] = (byStatus[call.status === 0 ? 'aborted' : call.status] ?? 0) + 1;
  const tokens = reconcileTokens({ scope: llm.scope, events: llm.events, calls: llmResults, ledger });
  const kinds = {};
  for (const call of llmResults) kinds[call.kind] = (kinds[call.kind] ?? 0) + 1;
  console.log(`LLM completions (examples/llm-api: ${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(', ')}): tokens sent vs. tokens billed, per customer`);
  printTable(tokens);
  const llmClean = llmStopped.exit.code === 0 && llmStopped.shutdown.close.pending === 0 && Object.keys(llmStopped.shutdown.stats.dropped).length === 0;
  say(`llm-api exited ${llmStopped.exit.code ?? llmStopped.exit.signal}: delivered ${llmStopped.shutdown.stats.delivered}, skipped ${JSON.stringify(llmStopped.shutdown.stats.skipped)} (nothing to bill: cache hits), dropped ${JSON.stringify(llmStopped.shutdown.stats.dropped)}`);
  console.log(`calls by status: ${Object.entries(byStatus).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  const s = ledger.counts;
  const outcomes = {};
  for (const r of ledger.requests) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const fault = (name) => outcomes[`fault:${name}`] ?? 0;
  console.log(
    `PacSpace saw ${s.requests} requests and committed ${s.committed} deltas. Injected: ${fault('server-error')} 5xx, ${fault('reset')} connection resets, ` +
      `${fault('commit-drop')} commits whose answer was dropped, ${fault('rate-limit')} 429 with Retry-After; answered ${s.replayed} retries as replays (not counted again).`,
  );

  const clean = stopped.every(({ shutdown, exit }) => exit.code === 0 && shutdown.close.pending === 0 && Object.keys(shutdown.stats.dropped).length === 0);
  const ok = clean && llmClean && rows.every((r) => r.ok) && storage.every((r) => r.ok) && tokens.every((r) => r.ok);
  for (const [i, { shutdown, exit }] of stopped.entries()) {
    if (exit.code !== 0 || shutdown.close.pending > 0 || Object.keys(shutdown.stats.dropped).length > 0) {
      console.log(`${apps[i].name} did not shut down clean: exit ${exit.code ?? exit.signal}, ${shutdown.close.pending} pending, dropped ${JSON.stringify(shutdown.stats.dropped)}`);
    }
  }
  console.log(ok ? `RECONCILED: every successful paid call billed exactly once, every token sent billed once (cut streams included, cache hits free), nothing else billed (${elapsed().trim()}).` : 'NOT RECONCILED: see the rows marked NO and the lines above.');
  exitCode = ok ? 0 : 1;
} catch (err) {
  console.error(err);
  for (const app of apps) {
    if (app.stderr()) console.error(`--- ${app.name} stderr ---\n${app.stderr()}`);
  }
} finally {
  for (const app of apps) app.kill(); // no-op for the ones that already exited
  llm?.kill();
  await sandbox.close();
  cluster?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
process.exit(exitCode);
