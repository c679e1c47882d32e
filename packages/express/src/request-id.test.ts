import { PROCESS_INSTANCE_ID, type Meter } from '@pacspace-metering/core';
import { getRequestId, meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import express, { type Request } from 'express';
import { createHash } from 'node:crypto';
import { listen, recordingMeter } from '../test-support/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A client-chosen id (trusted header or req.id) is bound to the call: `{id}.{16 hex of sha256('GET /ok')}`. */
const ON_GET_OK = `.${createHash('sha256').update('GET /ok').digest('hex').slice(0, 16)}`;

/**
 * Serves GET /ok, which answers with req.id and getRequestId(req); returns responses and billed referenceIds.
 * The id is echoed in x-request-id (off by default, turned on here) unless `options` says otherwise.
 */
async function serve(options: Partial<MeterRequestsOptions>, calls: Array<Record<string, string>>, before?: express.RequestHandler) {
  return serveAsConfigured({ responseHeader: 'x-request-id', ...options }, calls, before);
}

/** serve() with the options exactly as given: nothing turned on. */
async function serveAsConfigured(options: Partial<MeterRequestsOptions>, calls: Array<Record<string, string>>, before?: express.RequestHandler) {
  const { meter, sent } = recordingMeter();
  const app = express();
  if (before) app.use(before);
  app.use(meterRequests(meter, { customerId: () => 'acme', ...options }));
  app.get('/ok', (req, res) => void res.json({ reqId: (req as Request & { id?: unknown }).id, billedAs: getRequestId(req) }));
  const running = await listen(app);
  const responses: Array<{ header: string | null; reqId: unknown; billedAs: string; hasHeader: boolean }> = [];
  try {
    for (const headers of calls) {
      const res = await fetch(`${running.url}/ok`, { headers });
      const body = (await res.json()) as { reqId: unknown; billedAs: string };
      responses.push({ header: res.headers.get(typeof options.responseHeader === 'string' ? options.responseHeader : 'x-request-id'), hasHeader: res.headers.has('x-request-id'), ...body });
    }
    await running.waitForDone(calls.length);
    await (meter as Meter).flush();
  } finally {
    await running.close();
  }
  return { responses, referenceIds: sent.map((d) => d.referenceId) };
}

describe('request ids', () => {
  it('generates a UUID, echoes it in x-request-id, keeps it for getRequestId and bills under it, without writing req.id', async () => {
    const { responses, referenceIds } = await serve({}, [{}, {}]);
    for (const r of responses) {
      expect(r.header).toMatch(UUID);
      expect(r.reqId).toBeUndefined();
      expect(r.billedAs).toBe(r.header);
    }
    expect(responses[0]!.header).not.toBe(responses[1]!.header);
    expect(referenceIds).toEqual(responses.map((r) => `test:api_request:acme:${r.header}`));
  });

  it('does not trust a client-sent X-Request-Id by default: a replayed id is still billed per call', async () => {
    const sameId = { 'x-request-id': 'client-chosen-1' };
    const { responses, referenceIds } = await serve({}, [sameId, sameId, sameId]);
    expect(new Set(referenceIds).size).toBe(3);
    for (const r of responses) expect(r.header).toMatch(UUID);
    expect(referenceIds.some((id) => id.includes('client-chosen-1'))).toBe(false);
  });

  it('trusts the header only when named, so a retried call with the same id is billed under one referenceId', async () => {
    const { responses, referenceIds } = await serve({ requestIdHeader: 'X-Request-Id' }, [{ 'x-request-id': 'call-1' }, { 'x-request-id': 'call-1' }, { 'x-request-id': 'call-2' }]);
    expect(responses.map((r) => r.header)).toEqual([`call-1${ON_GET_OK}`, `call-1${ON_GET_OK}`, `call-2${ON_GET_OK}`]);
    expect(referenceIds).toEqual([`test:api_request:acme:call-1${ON_GET_OK}`, `test:api_request:acme:call-1${ON_GET_OK}`, `test:api_request:acme:call-2${ON_GET_OK}`]);
  });

  it.each([
    ['with spaces', 'a b c'],
    ['too long', 'x'.repeat(200)],
    ['outside the allowed characters', 'id/../evil'],
  ])('ignores a trusted header value that is %s, generating a UUID instead', async (_name, value) => {
    const { responses } = await serve({ requestIdHeader: 'x-request-id' }, [{ 'x-request-id': value }]);
    expect(responses[0]!.header).toMatch(UUID);
  });

  it('does not trust an upstream req.id by default: a replayed id is still billed per call', async () => {
    const upstream: express.RequestHandler = (req, _res, next) => {
      (req as Request & { id?: unknown }).id = 'copied-from-x-request-id';
      next();
    };
    const { responses, referenceIds } = await serve({}, [{}, {}], upstream);
    expect(responses.map((r) => r.reqId)).toEqual(['copied-from-x-request-id', 'copied-from-x-request-id']);
    for (const r of responses) expect(r.header).toMatch(UUID);
    expect(new Set(referenceIds).size).toBe(2);
  });

  it('with trustUpstreamId, bills under req.id bound to the call, qualifying a counter with the process instance', async () => {
    let counter = 0;
    const upstream: express.RequestHandler = (req, _res, next) => {
      (req as Request & { id?: unknown }).id = ++counter;
      next();
    };
    const { responses, referenceIds } = await serve({ trustUpstreamId: true }, [{}, {}], upstream);
    expect(responses.map((r) => r.reqId)).toEqual([1, 2]);
    expect(responses.map((r) => r.header)).toEqual([`${PROCESS_INSTANCE_ID}-1${ON_GET_OK}`, `${PROCESS_INSTANCE_ID}-2${ON_GET_OK}`]);
    expect(referenceIds).toEqual([`test:api_request:acme:${PROCESS_INSTANCE_ID}-1${ON_GET_OK}`, `test:api_request:acme:${PROCESS_INSTANCE_ID}-2${ON_GET_OK}`]);
  });

  it('prefers the requestId option over a trusted req.id and the header', async () => {
    const upstream: express.RequestHandler = (req, _res, next) => {
      (req as Request & { id?: unknown }).id = 'from-upstream';
      next();
    };
    const { responses } = await serve(
      { requestId: (req) => req.get('x-trace-id'), trustUpstreamId: true, requestIdHeader: 'x-request-id' },
      [{ 'x-trace-id': 'trace-7', 'x-request-id': 'hdr' }, { 'x-request-id': 'hdr' }],
      upstream,
    );
    expect(responses.map((r) => [r.header, r.reqId])).toEqual([
      ['trace-7', 'from-upstream'],
      [`from-upstream${ON_GET_OK}`, 'from-upstream'],
    ]);
  });

  it('does not echo the id by default; naming a header echoes the id the call is billed under', async () => {
    const byDefault = await serveAsConfigured({}, [{}]);
    expect(byDefault.responses[0]!.hasHeader).toBe(false);
    expect(byDefault.responses[0]!.billedAs).toMatch(UUID);
    expect(byDefault.referenceIds).toEqual([`test:api_request:acme:${byDefault.responses[0]!.billedAs}`]);
    const named = await serveAsConfigured({ responseHeader: 'x-request-id' }, [{}]);
    expect(named.responses[0]!.header).toMatch(UUID);
    expect(named.responses[0]!.header).toBe(named.responses[0]!.billedAs);
    expect(named.referenceIds).toEqual([`test:api_request:acme:${named.responses[0]!.header}`]);
  });

  it('leaves alone, by default, an x-request-id an earlier middleware set', async () => {
    const ownId: express.RequestHandler = (_req, res, next) => {
      res.setHeader('x-request-id', 'set-by-the-app');
      next();
    };
    const { responses, referenceIds } = await serveAsConfigured({}, [{}], ownId);
    expect(responses[0]!.header).toBe('set-by-the-app');
    expect(responses[0]!.billedAs).toMatch(UUID);
    expect(referenceIds).toEqual([`test:api_request:acme:${responses[0]!.billedAs}`]);
  });

  it('echoes under another header name, or not at all', async () => {
    const named = await serve({ responseHeader: 'X-Billing-Id' }, [{}]);
    expect(named.responses[0]!.header).toMatch(UUID);
    expect(named.responses[0]!.hasHeader).toBe(false);
    const none = await serve({ responseHeader: false }, [{}]);
    expect(none.responses[0]!.hasHeader).toBe(false);
    expect(none.referenceIds).toEqual([`test:api_request:acme:${none.responses[0]!.billedAs}`]);
  });
});
