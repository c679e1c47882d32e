// Runs the API as a process: `node dist/main.js`.
//
// - PACSPACE_API_KEY set: bills PacSpace (PACSPACE_BASE_URL, default https://app.pacspace.io).
// - Not set: starts a local PacSpace sandbox in this process and bills it (nothing leaves the machine).
// - METER_POSTGRES_URL set: the Meter keeps its deltas in that shared Postgres outbox.
//
// Logs are JSON lines on stdout (Nest's own errors and warnings go to its logger). On SIGTERM/SIGINT
// it closes the application: the server stops accepting and waits for in-flight requests, storage
// billing stops, the Meter delivers what is queued (up to SHUTDOWN_TIMEOUT_MS); then it prints one
// `{"event":"shutdown",...}` line with the Meter's report and exits 0. A second signal is logged and
// ignored: the shutdown in progress still delivers and reports.
import { closeApp, createApp } from './bootstrap.js';
import { loadConfig } from './config.js';

const APP = 'nestjs-app';
const log = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ app: APP, ...fields })}\n`);

const config = loadConfig();
// METER_POSTGRES_URL: one shared outbox for every instance of this app (the demo's --postgres mode).
if (process.env.METER_POSTGRES_URL) {
  const { createPostgresStore } = await import('@pacspace-metering/postgres-store');
  config.store = await createPostgresStore({ connectionString: process.env.METER_POSTGRES_URL, leaseMs: 2_000, pollIntervalMs: 100 });
}
let sandbox: { url: string; apiKey: string; close(): Promise<void> } | undefined;
if (!config.pacspace.apiKey) {
  const { startSandbox } = await import('@pacspace-metering/sandbox');
  sandbox = await startSandbox();
  config.pacspace = { apiKey: sandbox.apiKey, baseUrl: sandbox.url };
}

const app = await createApp(config);
await app.listen(config.port, config.host);
log({ event: 'listening', url: await app.getUrl(), scope: config.scope, pacspace: sandbox ? `local sandbox ${sandbox.url}` : (config.pacspace.baseUrl ?? 'https://app.pacspace.io') });

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  // A second signal (a second Ctrl-C, an impatient supervisor) must not cut the drain short: the
  // deltas still queued would be lost without a report. The drain ends by SHUTDOWN_TIMEOUT_MS anyway,
  // and then reports what is left; only SIGKILL stops it sooner (and loses that report).
  if (stopping) {
    log({ event: 'signal-ignored', signal, reason: 'already shutting down; delivery continues for up to SHUTDOWN_TIMEOUT_MS' });
    return;
  }
  stopping = true;
  log({ event: 'stopping', signal });
  // Connections still busy after the timeout (a stuck client) are cut, so shutdown always ends.
  const grace = setTimeout(() => app.getHttpServer().closeAllConnections(), config.shutdownTimeoutMs);
  grace.unref();
  const report = await closeApp(app, config);
  log({ event: 'shutdown', signal, ...report });
  await sandbox?.close();
  process.exit(0);
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
