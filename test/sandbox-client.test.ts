// The built-in client against real servers: what it sends (X-Chain-Id, routing by key prefix, as
// the official SDKs do), how it reads retry hints, and that a server echoing the key never gets
// the key into an error, a stack, a hook or a log line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { createMeter, createPacSpaceClient, PacSpaceApiError } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on 127.0.0.1 that records what it was sent and answers with `handler`. */
async function rawServer(handler: Handler): Promise<{ url: string; seen: IncomingMessage[]; close: () => Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

const answer = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const emitError = (client: ReturnType<typeof createPacSpaceClient>) =>
  client.balance.emit('cust_1', 1, 'api_call', { referenceId: 'r1', idempotencyKey: 'r1' }).then(
    () => undefined,
    (e: unknown) => e as PacSpaceApiError,
  );

let savedBaseUrl: string | undefined;
beforeAll(() => {
  savedBaseUrl = process.env.PACSPACE_BASE_URL;
  delete process.env.PACSPACE_BASE_URL; // routing by key is what is under test
});
afterAll(() => {
  if (savedBaseUrl !== undefined) process.env.PACSPACE_BASE_URL = savedBaseUrl;
});

describe('X-Chain-Id and routing by key prefix', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('sends 296 with a pk_test_ key, 295 with a pk_live_ key, and an explicit chainId when given (which the sandbox checks)', async () => {
    const test = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    await test.balance.emit('cust_1', 1, 'api_call');
    await test.balance.derive('cust_1');
    const live = createPacSpaceClient({ apiKey: 'pk_live_public.secretsecret', baseUrl: sandbox.url });
    expect((await emitError(live))?.status).toBe(403); // the sandbox refuses live keys loudly
    const pinned = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, chainId: 1234 });
    expect(await emitError(pinned)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' }); // not the sandbox's network
    for (const c of [test, live, pinned]) c.close();
    expect(sandbox.ledger().requests.map((r) => r.chainId)).toEqual(['296', '296', '295', '1234']);
  });

  it('sends no chain id for a key of neither environment, and rejects a bad chainId option', async () => {
    const server = await rawServer(answer(201, { success: true, data: { recordId: 'rec_1', status: 'QUEUED' } }));
    try {
      const other = createPacSpaceClient({ apiKey: 'sk_other_key_123', baseUrl: server.url });
      await other.balance.emit('cust_1', 1, 'api_call');
      other.close();
      expect(server.seen[0]!.headers['x-chain-id']).toBeUndefined();
    } finally {
      await server.close();
    }
    expect(() => createPacSpaceClient({ apiKey: sandbox.apiKey, chainId: 0 })).toThrow('chainId');
  });

  it('routes pk_test_ keys to sandboxUrl and pk_live_ keys to productionUrl when no baseUrl is set', async () => {
    const production = await rawServer(answer(201, { success: true, data: { recordId: 'rec_prod', status: 'QUEUED' } }));
    try {
      const urls = { sandboxUrl: sandbox.url, productionUrl: production.url };
      const test = createPacSpaceClient({ apiKey: sandbox.apiKey, ...urls });
      const live = createPacSpaceClient({ apiKey: 'pk_live_public.secretsecret', ...urls });
      expect((await test.balance.emit('cust_1', 1, 'api_call')).recordId).toBe('rec_1');
      expect((await live.balance.emit('cust_1', 1, 'api_call')).recordId).toBe('rec_prod');
      test.close();
      live.close();
      expect(sandbox.ledger().deltas).toHaveLength(1);
      expect(production.seen).toHaveLength(1);
      expect(production.seen[0]!.headers['x-chain-id']).toBe('295');
      // An explicit baseUrl wins over routing.
      const pinned = createPacSpaceClient({ apiKey: 'pk_live_public.secretsecret', ...urls, baseUrl: sandbox.url });
      expect((await emitError(pinned))?.code).toBe('API_KEY_ENVIRONMENT_HOST_MISMATCH');
      pinned.close();
    } finally {
      await production.close();
    }
    expect(() => createPacSpaceClient({ apiKey: sandbox.apiKey, sandboxUrl: 'not a url' })).toThrow('sandboxUrl');
  });
});

describe('retry hints', () => {
  it.each([
    [5, '1', 5000],
    [2, '7', 7000],
    [undefined, '3', 3000],
    [4, undefined, 4000],
  ])('a 429 with body retryAfterSeconds %s and Retry-After %s waits %i ms (the longer)', async (bodySeconds, header, expected) => {
    const error = bodySeconds === undefined ? { code: 'RATE_LIMITED', message: 'slow down' } : { code: 'RATE_LIMITED', message: 'slow down', retryAfterSeconds: bodySeconds };
    const server = await rawServer(answer(429, { success: false, error }, header === undefined ? {} : { 'retry-after': header }));
    try {
      const client = createPacSpaceClient({ apiKey: 'pk_test_public.secretsecret', baseUrl: server.url });
      const err = await emitError(client);
      client.close();
      expect(err).toBeInstanceOf(PacSpaceApiError);
      expect(err!.retryAfterMs).toBe(expected);
    } finally {
      await server.close();
    }
  });
});

describe('a server that echoes the API key', () => {
  const apiKey = 'pk_test_pub4567.s3cretPartThatMustNotLeak';
  const secret = 's3cretPartThatMustNotLeak';
  /** Answers 400 with the key (and, separately, its secret part) in every text field it has. */
  const echo: Handler = (req, res) => {
    const sent = String(req.headers['x-api-key']);
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      success: false,
      error: { code: 'VALIDATION_ERROR', message: `Key ${sent} is not allowed; secret ${secret} rejected`, customerId: sent },
      message: `Key ${sent}`,
    }));
  };
  const leaks = (value: unknown): boolean => {
    const text = inspect(value, { depth: 10, showHidden: true }) + (value instanceof Error ? String(value.stack) : '');
    return text.includes(secret) || text.includes(apiKey);
  };

  it('keeps the key and its secret part out of error.message, the stack and every field', async () => {
    const server = await rawServer(echo);
    try {
      const client = createPacSpaceClient({ apiKey, baseUrl: server.url });
      const err = await emitError(client);
      client.close();
      expect(err).toBeInstanceOf(PacSpaceApiError);
      expect(err!.message).toBe('Key [REDACTED] is not allowed; secret [REDACTED] rejected');
      expect(leaks(err)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('keeps it out of the Meter hooks and log lines too', async () => {
    const server = await rawServer(echo);
    const seen: unknown[] = [];
    const logger = Object.fromEntries(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [level, (...args: unknown[]) => void seen.push(args)]));
    const meter = createMeter({
      apiKey,
      baseUrl: server.url,
      scope: 'redact',
      logger: logger as never,
      onError: (e) => void seen.push(e),
      onDrop: (e) => void seen.push(e),
      onRetry: (e) => void seen.push(e),
    });
    try {
      meter.enqueue({ customerId: 'cust_1', delta: 1, reason: 'api_call', referenceId: 'r1' });
      await meter.flush({ timeoutMs: 5_000 });
      expect(seen.length).toBeGreaterThan(0);
      expect(inspect(seen, { depth: 10 })).toContain('[REDACTED]');
      for (const item of seen) expect(leaks(item)).toBe(false);
    } finally {
      await meter.close({ timeoutMs: 2_000 });
      await server.close();
    }
  });
});
