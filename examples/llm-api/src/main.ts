// Runs the API as a process: `node dist/main.js`.
//
// - PACSPACE_API_KEY set: bills PacSpace (PACSPACE_BASE_URL, default https://app.pacspace.io).
// - Not set: starts a local PacSpace sandbox in this process and bills it (nothing leaves the machine).
// - API_KEYS: `key:customer,key:customer` (default: four demo keys). TOKEN_DELAY_MS: pace of a stream.
//
// Logs are JSON lines on stdout, one `{"event":"completion",...}` per answer served (what was sent
// to whom). On SIGTERM/SIGINT it stops accepting, lets streams in flight finish, closes the Meter
// (delivering what is queued, up to SHUTDOWN_TIMEOUT_MS), prints `{"event":"shutdown",...}` with
// the Meter's report and exits 0.
import { createMeter } from '@pacspace-metering/core';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLlmApp } from './app.js';

const log = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ app: 'llm-api', ...fields })}\n`);
const env = process.env;
const number = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);

const apiKeys = new Map((env.API_KEYS ?? 'demo_key_acme:acme,demo_key_globex:globex,demo_key_initech:initech,demo_key_umbrella:umbrella').split(',').map((pair) => pair.split(':') as [string, string]));
let sandbox: { url: string; apiKey: string; close(): Promise<void> } | undefined;
let pacspace = { apiKey: env.PACSPACE_API_KEY, baseUrl: env.PACSPACE_BASE_URL };
if (!pacspace.apiKey) {
  const { startSandbox } = await import('@pacspace-metering/sandbox');
  sandbox = await startSandbox();
  pacspace = { apiKey: sandbox.apiKey, baseUrl: sandbox.url };
}
const scope = env.METERING_SCOPE ?? 'llm-api';
const meter = createMeter({ ...pacspace, scope, retryBaseDelayMs: number('METER_RETRY_BASE_MS', 100), retryMaxDelayMs: number('METER_RETRY_MAX_MS', 30_000) });
const server = createServer(createLlmApp({ meter, apiKeys, tokenDelayMs: number('TOKEN_DELAY_MS', 2), log }));
await new Promise<void>((resolve) => server.listen(number('PORT', 3000), env.HOST ?? '127.0.0.1', resolve));
const { address, port } = server.address() as AddressInfo;
log({ event: 'listening', url: `http://${address}:${port}`, scope, pacspace: sandbox ? `local sandbox ${sandbox.url}` : (pacspace.baseUrl ?? 'https://app.pacspace.io') });

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    log({ event: 'signal-ignored', signal });
    return;
  }
  stopping = true;
  const timeoutMs = number('SHUTDOWN_TIMEOUT_MS', 20_000);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const grace = setTimeout(() => server.closeAllConnections(), timeoutMs / 2);
  await closed;
  clearTimeout(grace);
  // Every response is done, so every delta is in the Meter: deliver them.
  const close = await meter.close({ timeoutMs: timeoutMs / 2 });
  log({ event: 'shutdown', signal, stats: meter.stats(), close });
  await sandbox?.close();
  process.exit(0);
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
