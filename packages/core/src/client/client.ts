import { MeteringConfigError } from '../errors.js';
import type { ApiAnswer, HttpTransport } from './http-transport.js';
import { createTransport, type TransportChoice } from './transport-choice.js';
import type { AdjustsReference } from '../intake/validation.js';

/** Options of the SDK-shaped `balance.emit`. */
export interface EmitOptions {
  referenceId?: string;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  /** The committed delta this one corrects: `{ referenceId }` or `{ recordId }`. */
  adjusts?: AdjustsReference;
}

/** What `balance.emit` resolves to: the receipt (`recordId`, `receiptId`, `status`, ...). */
export type EmitReceipt = Record<string, unknown> & { recordId?: string; receiptId?: string; status?: string; idempotent?: boolean };

/** One item of a batch submission. */
export interface BatchDelta {
  customerId: string;
  delta: number;
  reason: string;
  referenceId?: string;
  adjusts?: AdjustsReference;
  metadata?: Record<string, unknown>;
}

/** The batch endpoint's answer; items are matched by `index`. */
export interface BatchResult {
  totalQueued: number;
  totalFailed: number;
  results: Array<{ index: number; customerId?: string; delta?: number; status: string; error?: string; idempotent?: boolean; recordId?: string }>;
  idempotent?: boolean;
}

/**
 * Anything shaped like the official SDK's client (`new PacSpace({ apiKey })` from
 * `@pacspace-io/sdk`): the Meter only needs `balance.emit`; periodic metering uses `emitBatch` and
 * `checkpoint` when present.
 */
export interface BalanceClient {
  balance: {
    emit(customerId: string, delta: number, reason: string, options?: EmitOptions): Promise<unknown>;
    emitBatch?(deltas: BatchDelta[], options?: { idempotencyKey?: string }): Promise<unknown>;
    checkpoint?(customerId?: string, options?: Record<string, unknown>): Promise<unknown>;
    derive?(customerId: string, options?: Record<string, unknown>): Promise<unknown>;
  };
}

/** Which deltas `balance.derive` sums: a month, or a half-open ISO date range; default the current UTC month. */
export interface DeriveScope {
  period?: string;
  startDate?: string;
  endDate?: string;
  limit?: number;
  offset?: number;
}

/** Options of {@link createPacSpaceClient}. */
export interface PacSpaceClientOptions {
  /** The API key (`pk_live_…` or `pk_test_…`). Default: `process.env.PACSPACE_API_KEY`. */
  apiKey?: string | undefined;
  /**
   * Wins over routing by key. Default: `process.env.PACSPACE_BASE_URL`, else `sandboxUrl` for a
   * `pk_test_` key and `productionUrl` for any other key, as the official SDKs route.
   */
  baseUrl?: string | undefined;
  /** Where `pk_test_` keys go when no `baseUrl` is set. Default `https://app.pacspace.io` (it serves both environments by key). */
  sandboxUrl?: string | undefined;
  /** Where `pk_live_` (and unrecognised) keys go when no `baseUrl` is set. Default `https://app.pacspace.io`. */
  productionUrl?: string | undefined;
  /**
   * Sent as `X-Chain-Id` on every request, as the official SDKs do. Default: 296 for `pk_test_`
   * keys, 295 for `pk_live_` keys, none for other keys.
   */
  chainId?: number | undefined;
  /** Absolute deadline per request (connect, headers and body). Default: 10000 ms. */
  timeoutMs?: number | undefined;
  /** Keep-alive sockets to PacSpace at most (the node transport; `fetch` pools its own). Default: 32. */
  maxSockets?: number | undefined;
  /**
   * The HTTP client: `'node'` (node:http/https), `'fetch'` (the global `fetch`), or `'auto'`:
   * node:http on Node.js, `fetch` on Bun, Deno, Workers and edge runtimes. Default: `'auto'`.
   */
  transport?: TransportChoice | undefined;
}

/** The built-in client: SDK-shaped, plus raw access the Meter uses to send pre-serialized bodies. */
export interface PacSpaceClient extends BalanceClient {
  balance: {
    emit(customerId: string, delta: number, reason: string, options?: EmitOptions): Promise<EmitReceipt>;
    emitBatch(deltas: BatchDelta[], options?: { idempotencyKey?: string }): Promise<BatchResult>;
    checkpoint(customerId?: string, options?: { period?: string; idempotencyKey?: string }): Promise<Record<string, unknown>>;
    derive(customerId: string, options?: DeriveScope): Promise<Record<string, unknown>>;
    getDelta(recordId: string): Promise<Record<string, unknown>>;
  };
  /** Sends an already-serialized JSON body; used by the Meter so retries send identical bytes. */
  post(path: string, body: string, idempotencyKey: string | undefined, timeoutMs?: number): Promise<ApiAnswer>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

const DEFAULT_BASE_URL = 'https://app.pacspace.io';
/** Marks clients made by {@link createPacSpaceClient}; `Symbol.for` so ESM and CJS copies agree. */
const BUILT_IN = Symbol.for('pacspace-metering.built-in-client');
const USER_AGENT = 'pacspace-metering/0.1';

/**
 * Creates the built-in HTTP client for PacSpace's Balance API. Like the official SDKs it routes by
 * key prefix and sends `X-Chain-Id`; it sends `X-Api-Key` and `Idempotency-Key`, unwraps the
 * `{ success, data }` envelope, and throws typed {@link PacSpaceApiError}s carrying status, code,
 * retry hint (the longer of `Retry-After` and the body's `retryAfterSeconds`) and request path,
 * never the key: the key is redacted from everything the server answers.
 * A 202 `IDEMPOTENCY_PENDING` resolves to `{ code: 'IDEMPOTENCY_PENDING', retryAfterSeconds }`, as
 * the official SDK does.
 *
 * @example
 * const client = createPacSpaceClient({ apiKey: process.env.PACSPACE_API_KEY });
 * await client.balance.emit('acme', -1, 'api_request', { referenceId: 'x', idempotencyKey: 'x' });
 */
export function createPacSpaceClient(options: PacSpaceClientOptions = {}): PacSpaceClient {
  const apiKey = options.apiKey ?? process.env.PACSPACE_API_KEY;
  if (typeof apiKey !== 'string' || !/^[\x21-\x7e]{8,512}$/.test(apiKey)) {
    throw new MeteringConfigError('apiKey', 'must be a PacSpace API key (8-512 printable characters, no spaces), or set PACSPACE_API_KEY; or pass `client`');
  }
  const baseUrl = routeByKey(apiKey, options);
  const timeoutMs = positiveInt(options.timeoutMs, 10_000, 'timeoutMs');
  const maxSockets = positiveInt(options.maxSockets, 32, 'maxSockets');
  const chainId = options.chainId === undefined ? defaultChainId(apiKey) : positiveInt(options.chainId, 0, 'chainId');
  const transport: HttpTransport = createTransport(options.transport, { baseUrl, apiKey, maxSockets, userAgent: USER_AGENT, chainId });

  const post = (path: string, body: string, key: string | undefined, perCall = timeoutMs) => transport.request('POST', path, body, key, perCall);
  const get = async (path: string) => (await transport.request('GET', path, undefined, undefined, timeoutMs)).data;
  const unwrap = (answer: ApiAnswer) =>
    answer.pending ? { code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: (answer.retryAfterMs ?? 1000) / 1000 } : { ...answer.data, ...(answer.replayed ? { idempotent: true } : {}) };

  const builtIn: PacSpaceClient = {
    post,
    close: () => transport.close(),
    balance: {
      async emit(customerId, delta, reason, emitOptions = {}) {
        const body = JSON.stringify({ customerId, delta, reason, referenceId: emitOptions.referenceId, adjusts: emitOptions.adjusts, metadata: emitOptions.metadata });
        return unwrap(await post('/api/v1/balance/delta', body, emitOptions.idempotencyKey)) as EmitReceipt;
      },
      async emitBatch(deltas, batchOptions = {}) {
        return unwrap(await post('/api/v1/balance/delta/batch', JSON.stringify({ deltas }), batchOptions.idempotencyKey)) as unknown as BatchResult;
      },
      async checkpoint(customerId, checkpointOptions = {}) {
        const body = JSON.stringify({ customerId, period: checkpointOptions.period });
        return unwrap(await post('/api/v1/balance/checkpoint', body, checkpointOptions.idempotencyKey));
      },
      derive: (customerId, scope = {}) => get(`/api/v1/balance/derive/${encodeURIComponent(customerId)}${query(scope)}`),
      getDelta: (recordId) => get(`/api/v1/balance/delta/${encodeURIComponent(recordId)}`),
    },
  };
  Object.defineProperty(builtIn, BUILT_IN, { value: true });
  return builtIn;
}

/** `baseUrl` (option, then env), else the URL for the key's environment, as the official SDKs route. */
function routeByKey(apiKey: string, options: PacSpaceClientOptions): URL {
  const explicit = options.baseUrl ?? process.env.PACSPACE_BASE_URL;
  if (explicit !== undefined) return httpUrl(explicit, 'baseUrl');
  if (apiKey.startsWith('pk_test_')) return httpUrl(options.sandboxUrl ?? DEFAULT_BASE_URL, 'sandboxUrl');
  return httpUrl(options.productionUrl ?? DEFAULT_BASE_URL, 'productionUrl');
}

/** The official SDKs' chain id for the key's environment: 296 sandbox, 295 production. */
function defaultChainId(apiKey: string): number | undefined {
  if (apiKey.startsWith('pk_test_')) return 296;
  if (apiKey.startsWith('pk_live_')) return 295;
  return undefined;
}

function httpUrl(text: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MeteringConfigError(option, 'must be an absolute http(s) URL such as https://app.pacspace.io');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MeteringConfigError(option, 'must use http or https');
  return url;
}

function query(scope: DeriveScope): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(scope)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

function positiveInt(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new MeteringConfigError(option, `must be a positive integer (got ${String(value)})`);
  return value;
}

/** @internal Marks a client as this library's own, so the Meter can send pre-serialized bodies. */
export function isBuiltInClient(client: BalanceClient): client is PacSpaceClient {
  return (client as unknown as Record<symbol, unknown>)[BUILT_IN] === true;
}

