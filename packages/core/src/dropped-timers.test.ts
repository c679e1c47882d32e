// Cloudflare Workers cancel the timers of a request once it has ended. A Meter shared by the
// requests of an isolate must not stall when a pump it had scheduled never runs: the next flush
// starts delivery afresh.
import { createMeter } from './meter.js';

it('delivers on the next flush when the runtime dropped the pump it had scheduled', async () => {
  const sent: string[] = [];
  const client = { balance: { emit: async (_c: string, _d: number, _r: string, options?: { referenceId?: string }) => (sent.push(options!.referenceId!), { status: 'committed' }) } };
  const meter = createMeter({ client, scope: 'workers', flushIntervalMs: 0 });
  const realSetImmediate = globalThis.setImmediate;
  // The request that enqueues ends before its scheduled pump runs, and the runtime drops it.
  globalThis.setImmediate = (() => ({})) as unknown as typeof setImmediate;
  try {
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'r-1' });
  } finally {
    globalThis.setImmediate = realSetImmediate;
  }
  // The next request flushes, as the Hono adapter does through waitUntil.
  const report = await meter.flush({ timeoutMs: 2_000 });
  expect(report).toMatchObject({ delivered: 1, pending: 0, timedOut: false });
  expect(sent).toEqual(['workers:api_request:acme:r-1']);
  await meter.close();
});
