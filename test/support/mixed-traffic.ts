// Issue #3's "Must show", for every framework adapter: mixed traffic through a real app, billed into
// the sandbox through injected 5xx, connection resets and commit-then-drop. Exactly the successful
// requests are billed, each exactly once. Each adapter's test file only builds its app.
import { createMeter, type Meter } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import { abortMidResponse, pool, type RunningApp } from '../../packages/express/test-support/harness.js';

type Kind = 'success' | 'client-error' | 'throws' | 'rejects' | 'aborted';

interface Call {
  kind: Kind;
  customer: string;
  units: number;
  path: string;
}

/**
 * Starts the app under test, metered by `meter` with its adapter's defaults (reason
 * `api_request`), `customerId` from the `x-customer` header and `delta` = -(query `units`), on
 * 127.0.0.1 port 0, serving under the route pattern `/v1/reports/:id`:
 * - `GET /v1/reports/:id`: 200 with a JSON body;
 * - `GET /v1/reports/:id/invalid?status=N`: answers status N (a 4xx);
 * - `GET /v1/reports/:id/throws`: the handler throws (the framework answers 500);
 * - `GET /v1/reports/:id/rejects`: the async handler rejects (500);
 * - `GET /v1/reports/:id/stream`: writes a first chunk, and ends only once the client went away.
 */
export type StartMixedTrafficApp = (meter: Meter) => Promise<RunningApp>;

const CUSTOMERS = ['cust-a', 'cust-b', 'cust-c', 'cust-d', 'cust-e'];

/** 500 successes, 100 4xx, 100 throws, 50 rejections, 30 aborts, interleaved in a fixed order. */
function plan(): Call[] {
  const counts: Array<[Kind, number]> = [['success', 500], ['client-error', 100], ['throws', 100], ['rejects', 50], ['aborted', 30]];
  const byKind = counts.map(([kind, n]) =>
    Array.from({ length: n }, (_, i): Call => {
      const customer = CUSTOMERS[i % CUSTOMERS.length]!;
      const units = (i % 3) + 1;
      const path = {
        success: `/v1/reports/${i}?units=${units}`,
        'client-error': `/v1/reports/${i}/invalid?status=${[400, 404, 409, 422][i % 4]}&units=${units}`,
        throws: `/v1/reports/${i}/throws?units=${units}`,
        rejects: `/v1/reports/${i}/rejects?units=${units}`,
        aborted: `/v1/reports/${i}/stream?units=${units}`,
      }[kind];
      return { kind, customer, units, path };
    }),
  );
  const calls: Call[] = [];
  for (let round = 0; calls.length < 780; round++) for (const list of byKind) if (round < list.length) calls.push(list[round]!);
  return calls;
}

interface Outcome {
  call: Call;
  status: number;
  requestId: string | undefined;
}

/** Sends every call, 12 at a time, aborting the `aborted` ones mid-response; the id each call saw echoed. */
function drive(url: string, calls: Call[]): Promise<Outcome[]> {
  return pool(
    calls.map((call) => async () => {
      const headers = { 'x-customer': call.customer };
      if (call.kind === 'aborted') {
        const received = await abortMidResponse(url + call.path, headers);
        return { call, status: 0, requestId: received['x-request-id'] as string | undefined };
      }
      const res = await fetch(url + call.path, { headers });
      await res.arrayBuffer();
      return { call, status: res.status, requestId: res.headers.get('x-request-id') ?? undefined };
    }),
    12,
  );
}

/** The ledger holds exactly one delta per success (its referenceId, its units), and nothing of the failures. */
function expectExactlyTheSuccessesBilled(outcomes: Outcome[], sandbox: Sandbox, scope: string): void {
  const successes = outcomes.filter((o) => o.call.kind === 'success');
  const failures = outcomes.filter((o) => o.call.kind !== 'success');
  expect(successes).toHaveLength(500);
  expect(successes.every((o) => o.status === 200 && typeof o.requestId === 'string')).toBe(true);
  expect(failures.filter((o) => o.call.kind === 'client-error').every((o) => o.status >= 400 && o.status < 500)).toBe(true);
  expect(failures.filter((o) => o.call.kind === 'throws' || o.call.kind === 'rejects').every((o) => o.status === 500)).toBe(true);

  const ledger = sandbox.ledger();
  const expectedIds = new Set(successes.map((o) => `${scope}:api_request:${o.call.customer}:${o.requestId}`));
  expect(expectedIds.size).toBe(500);
  expect(ledger.deltas).toHaveLength(500);
  expect(duplicateReferenceIds(ledger)).toEqual([]);
  expect(new Set(ledger.deltas.map((d) => d.referenceId))).toEqual(expectedIds);

  // No failed or aborted request left a trace, under any customer.
  const billedRequestIds = new Set(ledger.deltas.map((d) => d.referenceId!.split(':').pop()));
  const failedIds = failures.map((o) => o.requestId).filter((id): id is string => id !== undefined);
  expect(failedIds.length).toBeGreaterThanOrEqual(30); // at least the aborted calls saw their id
  expect(failedIds.filter((id) => billedRequestIds.has(id))).toEqual([]);

  const expectedSums: Record<string, number> = {};
  for (const o of successes) expectedSums[o.call.customer] = (expectedSums[o.call.customer] ?? 0) - o.call.units;
  expect(sumByCustomer(ledger)).toEqual(expectedSums);

  // The route dimension is the pattern, for every delta.
  expect(new Set(ledger.deltas.map((d) => d.metadata?.route))).toEqual(new Set(['/v1/reports/:id']));
}

/** Defines the suite for one adapter: `name` in the titles, `scope` of its Meter, `start` builds its app. */
export function describeMixedTraffic(name: string, scope: string, start: StartMixedTrafficApp): void {
  describe(`${name} mixed traffic -> sandbox with faults`, () => {
    let sandbox: Sandbox;
    let meter: Meter;
    let running: RunningApp;

    beforeAll(async () => {
      sandbox = await startSandbox({
        seed: 2024,
        faults: {
          serverError: { rate: 0.1 },
          resetBeforeProcessing: { rate: 0.05 },
          commitThenDrop: { rate: 0.05, requests: [2, 4] },
        },
      });
      meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, concurrency: 8, retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
      running = await start(meter);
    });

    afterAll(async () => {
      await running?.close();
      await meter?.close({ timeoutMs: 5_000 });
      await sandbox?.close();
    });

    it('bills exactly the 500 successful requests, once each, with the right sums per customer', async () => {
      const calls = plan();
      const outcomes = await drive(running.url, calls);
      // Every response is done on the server (all finish/close listeners ran) before we look.
      await running.waitForDone(calls.length);
      const report = await meter.flush({ timeoutMs: 60_000 });
      expect(report.timedOut).toBe(false);
      expect(report.pending).toBe(0);

      expectExactlyTheSuccessesBilled(outcomes, sandbox, scope);

      // The faults really happened, and the replays were recognised rather than billed twice.
      const ledger = sandbox.ledger();
      const stats = meter.stats();
      expect(ledger.counts.faults).toBeGreaterThan(0);
      expect(stats.retried).toBeGreaterThan(0);
      expect(stats).toMatchObject({ accepted: 500, delivered: 500, dropped: {}, failed: {} });
      expect(ledger.requests.some((r) => r.outcome === 'fault:commit-drop')).toBe(true);
      expect(stats.deduplicated).toBeGreaterThan(0);
    });
  });
}
