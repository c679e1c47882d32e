// A real Express app gated by a balance gate and billed by a Meter, for the balance-gate tests:
// GET /v1/work costs 1 (header x-customer pays), billed -1 when it succeeds.
import { createBalanceGate, createMeter, type BalanceGate, type BalanceGateOptions, type Meter, type MeterOptions } from '@pacspace-metering/core';
import { meterRequests, requireBalance, type RequireBalanceOptions } from '@pacspace-metering/express';
import type { Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { Agent, request } from 'node:http';
import { listen, type RunningApp } from '../../packages/express/test-support/harness.js';

/** The gate's clock in these tests: it stands still until a test moves it, so a slow machine never expires a cached balance by itself. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let at = Date.now();
  return { now: () => at, advance: (ms) => void (at += ms) };
}

export interface GatedApp {
  app: RunningApp;
  meter: Meter;
  gate: BalanceGate;
  clock: TestClock;
  /** Sends one GET /v1/work as `customer`; answers the status and the parsed body. */
  call(customer: string): Promise<{ status: number; type: string | null; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function gatedApp(
  sandbox: Sandbox,
  gateOptions: BalanceGateOptions = {},
  extra: { meter?: MeterOptions; middleware?: Partial<RequireBalanceOptions> } = {},
): Promise<GatedApp> {
  const clock = testClock();
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'gate-e2e', flushIntervalMs: 5, retryBaseDelayMs: 5, retryMaxDelayMs: 50, ...extra.meter });
  const gate = createBalanceGate(meter, { ttlMs: 1000, now: clock.now, ...gateOptions });
  const customerId = (req: express.Request) => req.headers['x-customer'] as string | undefined;
  const app = express();
  app.get('/v1/work', requireBalance(gate, { customerId, price: 1, ...extra.middleware }), meterRequests(meter, { customerId, reason: 'api_request' }), (_req, res) => {
    res.json({ ok: true });
  });
  const running = await listen(app);
  // Bursts of hundreds of calls share 64 keep-alive sockets: the server's accept backlog is not under test.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    app: running,
    meter,
    gate,
    clock,
    call: (customer) => get(`${running.url}/v1/work`, customer, agent),
    async close() {
      agent.destroy();
      gate.close();
      await running.close();
      await meter.close({ timeoutMs: 5000 });
    },
  };
}

/** Balance reads the sandbox has seen for `customer`. */
export function deriveReads(sandbox: Sandbox, customer?: string): number {
  return sandbox.ledger().requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/api/v1/balance/derive/${customer ?? ''}`)).length;
}

/** The net of every VERIFIED delta of `customer` in the sandbox: what derive answers. */
export function verifiedBalance(sandbox: Sandbox, customer: string): number {
  return sandbox.ledger().deltas.filter((d) => d.customerId === customer && d.status === 'VERIFIED').reduce((sum, d) => sum + d.delta, 0);
}

function get(url: string, customer: string, agent: Agent): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { 'x-customer': customer } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? null, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
