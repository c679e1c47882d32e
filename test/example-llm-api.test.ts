// Issue 21: examples/llm-api, in this process against the sandbox with faults, driven by the demo's
// LLM traffic (whole answers, streams read to the end, streams the client cuts, cache hits, bad
// requests), reconciled per customer as the demo does: tokens sent against tokens billed.
import { createMeter } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLlmApp } from '../examples/llm-api/src/app.js';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { runLlmTraffic } from '../examples/demo/lib/llm-traffic.mjs';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { reconcileTokens } from '../examples/demo/lib/llm-reconcile.mjs';
// @ts-expect-error -- plain ESM JavaScript shared with the demo, no type declarations
import { API_KEYS_ENV } from '../examples/demo/lib/traffic.mjs';
import { trackUnhandledRejections } from './support/wait.js';

describe('examples/llm-api -> sandbox with faults', () => {
  let sandbox: Sandbox;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 7, faults: { serverError: { rate: 0.15 }, resetBeforeProcessing: { rate: 0.05 }, commitThenDrop: { rate: 0.1 } } });
  });
  afterAll(async () => {
    await sandbox.close();
    unhandled.stop();
  });

  it('bills every token sent once per customer (cut streams for what was sent, cache hits nothing), never twice', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'llm-api', retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    const events: Array<Record<string, unknown>> = [];
    const apiKeys = new Map((API_KEYS_ENV as string).split(',').map((pair) => pair.split(':') as [string, string]));
    const server = createServer(createLlmApp({ meter, apiKeys, tokenDelayMs: 1, log: (fields) => void events.push(fields) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let made = 0;
    const calls = (await runLlmTraffic(url, { stop: () => made >= 400, seed: 21, concurrency: 6, onCall: () => void made++ })) as Array<{ kind: string; aborted: boolean; status: number }>;
    // Every response is closed (and so billed) once the server has no connection left.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const report = await meter.flush({ timeoutMs: 60_000 });
    expect(report).toMatchObject({ failed: 0, dropped: 0, pending: 0, timedOut: false });
    const ledger = sandbox.ledger();
    const rows = reconcileTokens({ scope: 'llm-api', events, calls, ledger }) as Array<Record<string, number | boolean | string>>;
    expect(rows.filter((row) => !row.ok)).toEqual([]);
    expect(rows).toHaveLength(4);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    // The run had what the example is about: cut streams, cache hits, bad requests.
    expect(calls.filter((c) => c.aborted).length).toBeGreaterThan(10);
    expect(rows.reduce((n, row) => n + (row.cutStreams as number), 0)).toBeGreaterThan(10);
    expect(rows.reduce((n, row) => n + (row.cacheHits as number), 0)).toBeGreaterThan(10);
    expect(calls.filter((c) => c.status === 400).length).toBeGreaterThan(0);
    expect(meter.stats().dropped).toEqual({});
    await meter.close();
    expect(unhandled.count()).toBe(0);
  });
});
