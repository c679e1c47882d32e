// Runs the example apps (examples/express-app, examples/nestjs-app) in this process against a
// sandbox, and checks the ledger against the calls the traffic client recorded. For the fault suite
// (test/fault-suite-*.test.ts); the process-level helpers live in examples/demo/lib/processes.mjs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloseReport, Meter, MeterOptions, MeterStats, RetryEvent } from '@pacspace-metering/core';
import { duplicateReferenceIds, type LedgerSnapshot, type Sandbox } from '@pacspace-metering/sandbox';
import { createApp as createExpressApp } from '../../examples/express-app/src/app.js';
import { loadConfig as loadExpressConfig } from '../../examples/express-app/src/config.js';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { eventDeltas, expectedDeltas } from '../../examples/demo/lib/reconcile.mjs';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { API_KEYS_ENV, createClient, isBillable, runTraffic } from '../../examples/demo/lib/traffic.mjs';

export { API_KEYS_ENV };

export type ExampleName = 'express-app' | 'nestjs-app';
export const EXAMPLE_NAMES: ExampleName[] = ['express-app', 'nestjs-app'];

/** One HTTP call as the traffic client recorded it. */
export interface Call {
  op: string;
  customerId: string | null;
  method: string;
  path: string;
  reason: string | null;
  status: number;
  requestId: string | undefined;
  error?: string;
}

export interface TrafficClient {
  close(): void;
}

export const makeClient = createClient as (baseUrl: string, options?: { maxSockets?: number; keepAlive?: boolean }) => TrafficClient;
export const traffic = runTraffic as (
  client: TrafficClient,
  options: { ops: number; concurrency?: number; seed?: number; tag?: string; stop?: () => boolean; onCall?: (call: Call) => void },
) => Promise<Call[]>;
export const billable = isBillable as (call: Call) => boolean;

export interface InProcessApp {
  name: ExampleName;
  scope: string;
  url: string;
  meter: Meter;
  /** Every retry the Meter scheduled (from its `onRetry` hook). */
  retries: RetryEvent[];
  /** Stops the HTTP server (in-flight requests finish), then closes the Meter. */
  close(timeoutMs?: number): Promise<{ close: CloseReport; stats: MeterStats }>;
}

/** Meter options a test may give an example app (the apps spread them into `createMeter`). */
export type MeterTuning = Pick<MeterOptions, 'concurrency' | 'retryBaseDelayMs' | 'retryMaxDelayMs' | 'maxBatchSize' | 'flushIntervalMs'>;

/** Meter tuning for tests: small retry delays, so a run under faults stays short. */
export const FAST_RETRIES: MeterTuning = { retryBaseDelayMs: 5, retryMaxDelayMs: 50 };

/** Starts an example in this process, billing `sandbox`, on 127.0.0.1 port 0. Storage billing off. */
export async function startInProcess(name: ExampleName, sandbox: Sandbox, meter: MeterTuning = FAST_RETRIES): Promise<InProcessApp> {
  const env = { PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url, API_KEYS: API_KEYS_ENV, STORAGE_BILLING_INTERVAL: 'off' };
  const retries: RetryEvent[] = [];
  const meterHooks = { onRetry: (event: RetryEvent) => void retries.push(event) };
  if (name === 'express-app') {
    const config = { ...loadExpressConfig(env), meter };
    const example = createExpressApp(config, { meterHooks, onServerError: () => undefined });
    const server = createServer(example.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      name,
      scope: config.scope,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      meter: example.billing.meter,
      retries,
      async close(timeoutMs = 30_000) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        const report = await example.close(timeoutMs);
        return { close: report.close, stats: report.stats };
      },
    };
  }
  // Loaded only here, so the Express runs do not load Nest at all.
  await import('reflect-metadata');
  const { closeApp: closeNestApp, createApp: createNestApp, loadConfig: loadNestConfig } = await import('../../examples/nestjs-app/src/bootstrap.js');
  const { getMeterToken } = await import('@pacspace-metering/nestjs');
  const config = { ...loadNestConfig(env), meter, shutdownTimeoutMs: 30_000 };
  const app = await createNestApp(config, { meterHooks, logger: false });
  await app.listen(0, '127.0.0.1');
  return {
    name,
    scope: config.scope,
    url: await app.getUrl(),
    meter: app.get<Meter>(getMeterToken()),
    retries,
    async close() {
      const report = await closeNestApp(app, config);
      return { close: report.close, stats: report.stats };
    },
  };
}

/**
 * The core assertion of the suite: the app's per-request deltas in the ledger are exactly the
 * successful paid calls, one delta per distinct billing id (the echoed `x-request-id`), with the
 * right customer, reason and units; no referenceId is committed twice; nothing else is billed.
 * Returns the numbers, for further checks.
 */
export function expectExactlyOnce(calls: Call[], scope: string, ledger: LedgerSnapshot): { billableCalls: number; expected: number; committed: number } {
  const expected = expectedDeltas(calls, scope) as Map<string, { customerId: string; reason: string; delta: number }>;
  const committed = eventDeltas(ledger, scope) as LedgerSnapshot['deltas'];
  const seen = new Map<string, number>();
  for (const d of committed) seen.set(d.referenceId!, (seen.get(d.referenceId!) ?? 0) + 1);

  const missing = [...expected.keys()].filter((referenceId) => !seen.has(referenceId));
  const unexpected = [...seen.keys()].filter((referenceId) => !expected.has(referenceId));
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([referenceId]) => referenceId);
  const wrong = committed
    .filter((d) => expected.has(d.referenceId!))
    .filter((d) => {
      const e = expected.get(d.referenceId!)!;
      return d.customerId !== e.customerId || d.reason !== e.reason || d.delta !== e.delta;
    })
    .map((d) => d.referenceId);
  expect({ missing, unexpected, duplicated, wrong }).toEqual({ missing: [], unexpected: [], duplicated: [], wrong: [] });
  expect(duplicateReferenceIds(ledger)).toEqual([]);
  expect(committed).toHaveLength(expected.size);
  return { billableCalls: calls.filter(billable).length, expected: expected.size, committed: committed.length };
}

/** Counts calls by outcome: status code, or `aborted` for calls without a response. */
export function statusCounts(calls: Call[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    const key = call.status === 0 ? 'aborted' : String(call.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The environment of an example run as a process (`node dist/main.js`) against `sandbox`: port 0
 * on 127.0.0.1, the suite's API keys, small retry delays, no storage billing; `extra` on top.
 */
export function processEnv(sandbox: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    PACSPACE_API_KEY: sandbox.apiKey,
    PACSPACE_BASE_URL: sandbox.url,
    API_KEYS: API_KEYS_ENV,
    METER_RETRY_BASE_MS: '5',
    METER_RETRY_MAX_MS: '100',
    STORAGE_BILLING_INTERVAL: 'off',
    ...extra,
  };
}
