// The fetch wrapper where no Node response is there to watch (Bun, Deno, Workers): this test is
// the server, reading the body to its end, or cancelling it as a server does when the client goes.
import type { DeltaInput, Meter } from '@pacspace-metering/core';
import { meterFetch } from '@pacspace-metering/hono/fetch';
import { recordingMeter } from '../../express/test-support/harness.js';

const customerId = (request: Request) => request.headers.get('x-account');
const call = (path = '/r', init: RequestInit = {}) => new Request(`http://api.test${path}`, { headers: { 'x-account': 'acme' }, ...init });

/** A body that sends a first chunk and then waits, ending only when told; `cancelled` once the server cancels it. */
function slowBody() {
  let end!: () => void;
  const state = { cancelled: false, end: () => end() };
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      controller.enqueue(new TextEncoder().encode('first'));
      end = () => controller.close();
    },
    cancel: () => void (state.cancelled = true),
  });
  return { body, state };
}

describe('meterFetch(): delivered means the server read the body to its end', () => {
  it('bills a body read to its end, and a response without a body when it is answered', async () => {
    const { meter, sent } = recordingMeter();
    const fetch = meterFetch(meter, (request) => (request.method === 'HEAD' ? new Response(null, { status: 204 }) : Response.json({ ok: true })), { customerId });
    const answer = await fetch(call());
    expect(await answer.json()).toEqual({ ok: true });
    await fetch(call('/r', { method: 'HEAD' }));
    await meter.flush();
    expect(sent.map((d) => d.metadata)).toEqual([{ method: 'GET' }, { method: 'HEAD' }]);
  });

  it('does not bill before the body has ended, nor a body the server cancelled (the client went away)', async () => {
    const { meter, sent } = recordingMeter();
    const slow = slowBody();
    const fetch = meterFetch(meter, () => new Response(slow.body), { customerId });
    const reader = (await fetch(call())).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await meter.flush();
    expect(sent).toEqual([]); // headers and a first chunk out: not delivered yet
    // The server waits for the next chunk when the client goes; cancelling ends that read (and the
    // wrapper's own read of the handler's body) with `done`, which must not count as the end.
    const waiting = reader.read();
    await reader.cancel(new Error('client gone'));
    expect((await waiting).done).toBe(true);
    await meter.flush();
    expect(slow.state.cancelled).toBe(true);
    expect(sent).toEqual([]);
  });

  it('bills the same slow body once it ends, and nothing for a body that errors', async () => {
    const { meter, sent } = recordingMeter();
    const slow = slowBody();
    const failing = new ReadableStream({ pull: (controller) => controller.error(new Error('upstream broke')) });
    const fetch = meterFetch(meter, (request) => new Response(request.url.endsWith('/fails') ? failing : slow.body), { customerId });
    const reading = (await fetch(call())).text();
    slow.state.end();
    expect(await reading).toBe('first');
    await expect((await fetch(call('/fails'))).text()).rejects.toThrow('upstream broke');
    await meter.flush();
    expect(sent).toHaveLength(1);
  });

  it('bills nothing for a handler that throws or answers 4xx/5xx, and passes the throw on', async () => {
    const { meter, sent } = recordingMeter();
    const fetch = meterFetch(meter, (request) => {
      if (request.url.endsWith('/throws')) throw new Error('handler bug');
      return new Response('no', { status: request.url.endsWith('/429') ? 429 : 500 });
    }, { customerId });
    await expect(fetch(call('/throws'))).rejects.toThrow('handler bug');
    for (const path of ['/429', '/500']) await (await fetch(call(path))).text();
    await meter.flush();
    expect(sent).toEqual([]);
  });

  it('does not echo the id by default', async () => {
    const { meter, sent } = recordingMeter();
    const fetch = meterFetch(meter, () => new Response('ok'), { customerId });
    const answer = await fetch(call());
    expect(await answer.text()).toBe('ok');
    expect(answer.headers.has('x-request-id')).toBe(false);
    await meter.flush();
    expect(sent.map((d) => d.referenceId)).toEqual([expect.stringMatching(/^test:api_request:acme:[0-9a-f-]{36}$/)]);
  });

  it('echoes the id when responseHeader names a header, also on a response whose headers are immutable, by copying it', async () => {
    const { meter, sent } = recordingMeter();
    const fetch = meterFetch(meter, () => Response.redirect('http://api.test/elsewhere', 302), { customerId, responseHeader: 'x-request-id' });
    const answer = await fetch(call());
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('http://api.test/elsewhere');
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await answer.arrayBuffer();
    await meter.flush();
    expect(sent.map((d) => d.referenceId)).toEqual([`test:api_request:acme:${answer.headers.get('x-request-id')}`]);
  });
});

describe('meterFetch(): waitUntil, for runtimes that freeze after the response', () => {
  it("hands the outcome and a flush to the execution context's waitUntil (a Worker's ctx), which ends once the delta is delivered", async () => {
    const { meter, sent } = recordingMeter({ flushIntervalMs: 60_000 });
    const waited: Array<Promise<unknown>> = [];
    const ctx = { waitUntil: (promise: Promise<unknown>) => void waited.push(promise) };
    const fetch = meterFetch(meter, (_request: Request, _env: unknown, _ctx: typeof ctx) => Response.json({ ok: true }), { customerId });
    await (await fetch(call(), {}, ctx)).text();
    expect(waited).toHaveLength(1);
    await waited[0];
    // Delivered although the batch would otherwise have lingered a minute: the flush sent it.
    expect(sent).toHaveLength(1);
  });

  it('says so when the flush ends with deltas still queued, or hands the report to onFlush', async () => {
    const stuck = { balance: { emit: () => new Promise<never>(() => undefined) } };
    const { meter } = recordingMeter({ client: stuck, attemptTimeoutMs: 60_000 });
    const warnings: string[] = [];
    const emitWarning = process.emitWarning;
    process.emitWarning = ((warning: string) => void warnings.push(warning)) as typeof process.emitWarning;
    const reports: unknown[] = [];
    try {
      const waited: Array<Promise<unknown>> = [];
      const waitUntil = (promise: Promise<unknown>) => void waited.push(promise);
      await (await meterFetch(meter, () => new Response('ok'), { customerId, waitUntil, flushTimeoutMs: 50 })(call())).text();
      await waited[0];
      await (await meterFetch(meter, () => new Response('ok'), { customerId, waitUntil, flushTimeoutMs: 50, onFlush: (r) => void reports.push(r) })(call())).text();
      await waited[1];
    } finally {
      process.emitWarning = emitWarning;
    }
    expect(warnings).toEqual([expect.stringMatching(/^pacspace-metering: usage deltas still queued when the waitUntil flush ended \(50 ms\).* - 1 pending$/)]);
    expect(reports).toEqual([expect.objectContaining({ timedOut: true, pending: 2 })]);
    await meter.close({ timeoutMs: 1 });
  });
});

describe('meterFetch(): a durable store', () => {
  it('holds the end of the body until the store has the delta', async () => {
    let commit!: (durable: boolean) => void;
    const enqueued: DeltaInput[] = [];
    // The Meter's edge: a durable store's enqueue that says later when the delta is on disk.
    const meter = {
      scope: 'durable',
      durable: true,
      enqueue: (input: DeltaInput) => (enqueued.push(input), { accepted: true, referenceId: 'r', committed: new Promise<boolean>((resolve) => (commit = resolve)) }),
      flush: async () => ({ delivered: 0, deduplicated: 0, failed: 0, dropped: 0, pending: 0, timedOut: false }),
      refuse: () => ({ accepted: false }),
    } as unknown as Meter;
    const reader = (await meterFetch(meter, () => new Response('all of it'), { customerId })(call())).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    let ended = false;
    const end = reader.read().then((chunk) => (ended = chunk.done === true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(enqueued).toHaveLength(1);
    expect(ended).toBe(false);
    commit(true);
    await end;
    expect(ended).toBe(true);
  });
});
