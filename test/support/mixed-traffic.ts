// Issue #3, "Must show": mixed traffic through a real app, billed into the sandbox through
// injected 5xx, connection resets and commit-then-drop. Exactly the successful requests are billed,
// each exactly once. One suite for every framework adapter (issue 24): each test file gives it an
// app with the same five routes, served over a real socket.
import { createMeter, type DrainReport, type Meter, type MeterOptions, type MeterStats } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import type { RequestListener } from 'node:http';
import { abortMidResponse, listen, pool } from '../../packages/express/test-support/harness.js';

type Kind = 'success' | 'client-error' | 'throws' | 'rejects' | 'aborted';

interface Call {
  kind: Kind;
  customer: string;
  units: number;
  path: string;
}

const SCOPE = 'mixed-e2e';
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

/** What the suite's Meter is made with, wherever the app runs: JSON, so another runtime can take it. */
export type SuiteMeterOptions = Pick<MeterOptions, 'apiKey' | 'baseUrl' | 'scope' | 'concurrency' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>;

/** A metered app serving on 127.0.0.1, in this process or another runtime's. */
export interface RunningMeteredApp {
  url: string;
  /** Resolves once the server knows the fate of every response: `total` calls, `aborted` of them cut off by the client. */
  waitForDone(total: number, aborted: number): Promise<void>;
  /** Flushes the app's Meter: the report, and its stats after it. */
  drain(timeoutMs: number): Promise<{ report: DrainReport; stats: MeterStats }>;
  close(): Promise<void>;
}

/**
 * The app under test: `GET /v1/reports/:id` answers 200; `/v1/reports/:id/invalid?status=N`
 * answers N; `/:id/throws` throws; `/:id/rejects` rejects after a tick; `/:id/stream` sends a first
 * chunk and ends only once the client has gone. Bills `-units` (query) to the `x-customer` header.
 */
export interface MixedTrafficApp {
  /** Starts the metered app with a Meter made of `options`. */
  start(options: SuiteMeterOptions): Promise<RunningMeteredApp>;
  /** The route pattern every delta carries in its metadata, or undefined when the adapter has none. */
  route: string | undefined;
}

/** An app served by Node in this process, through the request listener `build` makes around its Meter. */
export function inProcess(build: (meter: Meter) => RequestListener): MixedTrafficApp['start'] {
  return async (options) => {
    const meter = createMeter(options);
    const running = await listen(build(meter));
    return {
      url: running.url,
      // Every response is done on the server (all finish/close listeners ran) before we look.
      waitForDone: (total) => running.waitForDone(total),
      drain: async (timeoutMs) => ({ report: await meter.flush({ timeoutMs }), stats: meter.stats() }),
      close: async () => {
        await running.close();
        await meter.close({ timeoutMs: 5_000 });
      },
    };
  };
}

/** Runs the mixed-traffic suite against `app`, named `name`. */
export function describeMixedTraffic(name: string, app: MixedTrafficApp): void {
  describe(`${name} mixed traffic -> sandbox with faults`, () => {
    let sandbox: Sandbox;
    let running: RunningMeteredApp;

    beforeAll(async () => {
      sandbox = await startSandbox({
        seed: 2024,
        faults: {
          serverError: { rate: 0.1 },
          resetBeforeProcessing: { rate: 0.05 },
          commitThenDrop: { rate: 0.05, requests: [2, 4] },
        },
      });
      running = await app.start({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: SCOPE, concurrency: 8, retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
    });

    afterAll(async () => {
      await running?.close();
      await sandbox?.close();
    });

    it('bills exactly the 500 successful requests, once each, with the right sums per customer', async () => {
      const calls = plan();
      const outcomes = await pool(
        calls.map((call) => async () => {
          const headers = { 'x-customer': call.customer };
          if (call.kind === 'aborted') {
            const received = await abortMidResponse(running.url + call.path, headers);
            return { call, status: 0, requestId: received['x-request-id'] as string | undefined };
          }
          const res = await fetch(running.url + call.path, { headers });
          await res.arrayBuffer();
          return { call, status: res.status, requestId: res.headers.get('x-request-id') ?? undefined };
        }),
        12,
      );

      await running.waitForDone(calls.length, calls.filter((call) => call.kind === 'aborted').length);
      const { report, stats } = await running.drain(60_000);
      expect(report.timedOut).toBe(false);
      expect(report.pending).toBe(0);

      const successes = outcomes.filter((o) => o.call.kind === 'success');
      const failures = outcomes.filter((o) => o.call.kind !== 'success');
      expect(successes).toHaveLength(500);
      expect(successes.every((o) => o.status === 200 && typeof o.requestId === 'string')).toBe(true);
      expect(failures.filter((o) => o.call.kind === 'client-error').every((o) => o.status >= 400 && o.status < 500)).toBe(true);
      expect(failures.filter((o) => o.call.kind === 'throws' || o.call.kind === 'rejects').every((o) => o.status === 500)).toBe(true);

      const ledger = sandbox.ledger();
      const expectedIds = new Set(successes.map((o) => `${SCOPE}:api_request:${o.call.customer}:${o.requestId}`));
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
      expect(new Set(ledger.deltas.map((d) => d.metadata?.route))).toEqual(new Set([app.route]));

      // The faults really happened, and the replays were recognised rather than billed twice.
      expect(ledger.counts.faults).toBeGreaterThan(0);
      expect(stats.retried).toBeGreaterThan(0);
      expect(stats).toMatchObject({ accepted: 500, delivered: 500, dropped: {}, failed: {} });
      expect(ledger.requests.some((r) => r.outcome === 'fault:commit-drop')).toBe(true);
      expect(stats.deduplicated).toBeGreaterThan(0);
    });
  });
}
