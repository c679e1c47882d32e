// The fetch transport against the node:http one: the same request bytes, and the same answer or
// typed error for every status and failure a real server can produce (redirects, HTML pages,
// resets, bodies cut short, servers that never answer), with the key redacted the same way.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPacSpaceClient } from './client.js';
import { MeteringConfigError, PacSpaceApiError } from '../errors.js';
import { createMeter } from '../meter.js';
import { resolveTransport } from './transport-choice.js';

const API_KEY = 'pk_test_pub4567.s3cretPartThatMustNotLeak';
const PATH = '/api/v1/balance/delta';
const BODY = JSON.stringify({ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'r-1', metadata: { note: 'naïve ✓' } });

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Behaviour => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const fail = (status: number, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  json(status, { success: false, error: { code, message: `refused with ${code}`, ...extra } }, headers);

/** Every answer the transports must agree on, by name. */
const BEHAVIOURS: Record<string, Behaviour> = {
  '201 recorded': json(201, { success: true, data: { recordId: 'rec_1', status: 'committed' } }),
  '200 replay (Idempotent-Replayed header)': json(200, { success: true, data: { recordId: 'rec_1' } }, { 'idempotent-replayed': 'true' }),
  '200 without an envelope': json(200, { recordId: 'rec_2' }),
  '202 still in progress': json(202, { success: true, code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: 2 }),
  '200 that is not JSON': (_req, res) => res.end('<html>ok</html>'),
  '204 with no body': (_req, res) => void res.writeHead(204).end(),
  '301 redirect (not followed)': (_req, res) => void res.writeHead(301, { location: '/elsewhere' }).end(),
  '400': fail(400, 'VALIDATION_ERROR'),
  '401': fail(401, 'INVALID_API_KEY'),
  '402': fail(402, 'INSUFFICIENT_CREDITS', { customerId: 'acme' }),
  '403 without a body': (_req, res) => void res.writeHead(403).end(),
  '404': fail(404, 'NOT_FOUND'),
  '408': fail(408, 'REQUEST_TIMEOUT'),
  '409': fail(409, 'IDEMPOTENCY_CONFLICT'),
  '412': fail(412, 'CONTRACT_NOT_DEPLOYED'),
  '413': fail(413, 'PAYLOAD_TOO_LARGE'),
  '422': fail(422, 'UNPROCESSABLE'),
  '429 with Retry-After and a longer body hint': fail(429, 'RATE_LIMITED', { retryAfterSeconds: 9 }, { 'retry-after': '3' }),
  '429 CADENCE_LIMIT for one customer': fail(429, 'CADENCE_LIMIT', { customerId: 'acme', retryAfterSeconds: 1 }),
  '500': fail(500, 'INTERNAL_ERROR'),
  '502 HTML page from a proxy': (_req, res) => void res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>'),
  '503 with Retry-After': fail(503, 'SERVICE_UNAVAILABLE', {}, { 'retry-after': '5' }),
  '504 without a body': (_req, res) => void res.writeHead(504).end(),
  'key echoed back in a 400': (req, res) => fail(400, 'VALIDATION_ERROR', { message: `Key ${String(req.headers['x-api-key'])} is not allowed` })(req, res),
  'connection reset before an answer': (req) => req.socket.destroy(),
  'connection closed halfway through the body': (req, res) => {
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': '200' });
    res.write('{"success":true,"data":{"rec');
    setTimeout(() => req.socket.destroy(), 20);
  },
  'no answer within the deadline': () => undefined,
  'headers, then a body that never ends': (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.write('{"success":true,');
  },
};

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: Record<string, unknown>;
  body: string;
}

/** A real server on 127.0.0.1 that records each request and answers with the behaviour its path names. */
async function startServer(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const { host: _host, connection: _connection, ...headers } = req.headers;
      seen.push({ method: req.method, url: req.url, headers, body });
      const name = decodeURIComponent(req.url!.split('/')[1]!);
      BEHAVIOURS[name]!(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The behaviours that never finish an answer: only they meet the short deadline, whatever the machine's load. */
const HANGS = new Set(['no answer within the deadline', 'headers, then a body that never ends']);

/** What a transport made of an exchange: the answer, or the typed error's fields. */
async function outcome(transport: 'node' | 'fetch', baseUrl: string, behaviour: string): Promise<unknown> {
  const client = createPacSpaceClient({ apiKey: API_KEY, baseUrl, transport, timeoutMs: HANGS.has(behaviour) ? 300 : 30_000 });
  try {
    return { answer: await client.post(PATH, BODY, 'r-1') };
  } catch (err) {
    if (!(err instanceof PacSpaceApiError)) return { unexpected: String(err) };
    const { name, status, code, retryAfterMs, customerId, requestPath } = err;
    // Socket-level reasons are worded by each client (ECONNRESET, UND_ERR_SOCKET): the code says what happened.
    const message = code === 'NETWORK_ERROR' ? 'network' : err.message;
    return { error: { name, status, code, retryAfterMs, customerId, requestPath, message, leaks: err.message.includes('s3cret') } };
  } finally {
    client.close();
  }
}

describe('fetch transport and node transport', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it.each(Object.keys(BEHAVIOURS))('give the same answer to: %s', async (name) => {
    const base = `${server.url}/${encodeURIComponent(name)}`;
    const fromNode = await outcome('node', base, name);
    const fromFetch = await outcome('fetch', base, name);
    expect(fromFetch).toEqual(fromNode);
    expect(fromNode).not.toHaveProperty('unexpected');
  });

  it('send the same request: method, path under the base URL, headers and body bytes', async () => {
    server.seen.length = 0;
    const base = `${server.url}/${encodeURIComponent('201 recorded')}/`;
    await outcome('node', base, '201 recorded');
    await outcome('fetch', base, '201 recorded');
    const [node, fetched] = server.seen;
    expect(node).toMatchObject({ method: 'POST', url: `/${encodeURIComponent('201 recorded')}${PATH}`, body: BODY });
    expect(node!.headers).toMatchObject({
      'x-api-key': API_KEY, 'idempotency-key': 'r-1', 'content-type': 'application/json', accept: 'application/json',
      'content-length': String(Buffer.byteLength(BODY)), 'x-chain-id': '296', 'user-agent': 'pacspace-metering/0.1',
    });
    // fetch adds only what every fetch adds (accept-language, sec-fetch-mode, accept-encoding).
    const { 'accept-language': _l, 'sec-fetch-mode': _m, 'accept-encoding': _e, ...fetchHeaders } = fetched!.headers;
    expect({ ...fetched, headers: fetchHeaders }).toEqual(node);
  });

  it('redact the key the server echoes, whole and its secret part', async () => {
    const answer = (await outcome('fetch', `${server.url}/${encodeURIComponent('key echoed back in a 400')}`, 'key echoed back in a 400')) as { error: { message: string; leaks: boolean } };
    expect(answer.error.message).toBe('Key [REDACTED] is not allowed');
    expect(answer.error.leaks).toBe(false);
  });

  it('abort what is in flight when the client is closed, as destroying the agent does', async () => {
    for (const transport of ['node', 'fetch'] as const) {
      const client = createPacSpaceClient({ apiKey: API_KEY, baseUrl: `${server.url}/${encodeURIComponent('no answer within the deadline')}`, transport, timeoutMs: 60_000 });
      const before = server.seen.length;
      const pending = client.post(PATH, BODY, 'r-1').catch((err: PacSpaceApiError) => err);
      while (server.seen.length === before) await new Promise((resolve) => setTimeout(resolve, 5)); // in flight: the server has it
      client.close();
      expect(await pending).toMatchObject({ name: 'PacSpaceApiError', code: 'NETWORK_ERROR', status: 0 });
    }
  });
});

describe('choosing the transport', () => {
  const realNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const pretend = (userAgent: string | undefined) =>
    Object.defineProperty(globalThis, 'navigator', { value: userAgent === undefined ? undefined : { userAgent }, configurable: true, writable: true });
  afterEach(() => {
    if (realNavigator) Object.defineProperty(globalThis, 'navigator', realNavigator);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });

  it("'auto' is node:http on Node.js and fetch on Bun, Deno, Workers and other runtimes", () => {
    expect(resolveTransport(undefined)).toBe('node');
    expect(resolveTransport('auto')).toBe('node');
    for (const [userAgent, expected] of [['Node.js/22', 'node'], ['Bun/1.2.3', 'fetch'], ['Deno/2.1.0', 'fetch'], ['Cloudflare-Workers', 'fetch'], ['Mozilla/5.0 (edge)', 'fetch']] as const) {
      pretend(userAgent);
      expect([userAgent, resolveTransport('auto')]).toEqual([userAgent, expected]);
    }
    pretend(undefined); // Node 20 has no navigator: its process.versions.node answers
    expect(resolveTransport('auto')).toBe('node');
  });

  it('an explicit choice wins; anything else is refused naming transport, from the client and from createMeter', () => {
    pretend('Cloudflare-Workers');
    expect(resolveTransport('node')).toBe('node');
    expect(resolveTransport('fetch')).toBe('fetch');
    expect(() => createPacSpaceClient({ apiKey: API_KEY, transport: 'undici' as never })).toThrow(new MeteringConfigError('transport', `must be 'auto', 'node' or 'fetch' (got "undici")`));
    expect(() => createMeter({ apiKey: API_KEY, transport: 'http2' as never })).toThrow(/^transport: must be one of 'auto', 'node', 'fetch'/);
  });

  it("'node' where the runtime has no node:http is refused at creation, naming transport", () => {
    const process = globalThis.process as { getBuiltinModule?: unknown };
    const real = process.getBuiltinModule;
    process.getBuiltinModule = undefined;
    try {
      expect(() => createPacSpaceClient({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:1', transport: 'node' })).toThrow(
        new MeteringConfigError('transport', "'node' needs node:http, which this runtime does not offer; use transport 'fetch' or 'auto'"),
      );
      expect(() => createPacSpaceClient({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:1', transport: 'fetch' }).close()).not.toThrow();
    } finally {
      process.getBuiltinModule = real;
    }
  });
});
