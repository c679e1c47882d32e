import type http from 'node:http';
import type https from 'node:https';
import { IdempotencyConflictError, PacSpaceApiError } from '../errors.js';
import { boundText, MAX_UPSTREAM_CODE_LENGTH, MAX_UPSTREAM_MESSAGE_LENGTH } from './error-codes.js';
import { nodeBuiltin } from './node-builtins.js';
import { keyRedactor } from './redact.js';

/** A parsed 2xx answer: the envelope's `data`, and whether the server says it is still in progress. */
export interface ApiAnswer {
  status: number;
  data: Record<string, unknown>;
  /** Replay of a completed request (`Idempotent-Replayed` header or `data.idempotent`). */
  replayed: boolean;
  /** 202 `IDEMPOTENCY_PENDING`: the same key is still being processed; try again later. */
  pending: boolean;
  retryAfterMs?: number;
}

/** One HTTP exchange with PacSpace: a keep-alive agent and an absolute deadline per attempt. */
export interface HttpTransportOptions {
  baseUrl: URL;
  apiKey: string;
  maxSockets: number;
  userAgent: string;
  /** Sent as `X-Chain-Id` on every request when set, as the official SDKs do. */
  chainId?: number;
}

export interface HttpTransport {
  request(method: 'GET' | 'POST', path: string, body: string | undefined, idempotencyKey: string | undefined, timeoutMs: number): Promise<ApiAnswer>;
  close(): void;
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const secure = options.baseUrl.protocol === 'https:';
  // Loaded on use, never imported: core must load where there is no node:http (see fetch-transport.ts).
  const lib = secure ? nodeBuiltin<typeof https>('node:https') : nodeBuiltin<typeof http>('node:http');
  const agent = new lib.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const prefix = options.baseUrl.pathname.replace(/\/+$/, '');
  const redact = keyRedactor(options.apiKey);

  function request(method: 'GET' | 'POST', path: string, body: string | undefined, idempotencyKey: string | undefined, timeoutMs: number): Promise<ApiAnswer> {
    const headers = requestHeaders(options, body, idempotencyKey);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<ApiAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (err: PacSpaceApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(err);
      };
      const req = lib.request(
        { protocol: options.baseUrl.protocol, hostname: options.baseUrl.hostname, port: options.baseUrl.port, path: prefix + path, method, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (cause) => fail(networkError(path, cause)));
          res.on('close', () => {
            if (!res.complete) fail(networkError(path, new Error('connection closed before the response was complete')));
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline);
            try {
              // A server that echoes the key must not hand it to our errors, hooks or logs.
              resolve(parseAnswer(res.statusCode ?? 0, res.headers, redact(Buffer.concat(chunks).toString('utf8')), path));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      // One absolute deadline covers connect, headers and body together.
      const deadline = setTimeout(() => {
        fail(timeoutError(method, path, timeoutMs));
        req.destroy();
      }, timeoutMs);
      deadline.unref();
      req.on('error', (cause) => fail(networkError(path, cause)));
      req.end(body);
    });
  }

  return { request, close: () => agent.destroy() };
}

/** The headers of every request, whichever transport sends it (fetch sets `content-length` itself). */
export function requestHeaders(options: Omit<HttpTransportOptions, 'maxSockets'>, body: string | undefined, idempotencyKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'x-api-key': options.apiKey, accept: 'application/json', 'user-agent': options.userAgent };
  if (options.chainId !== undefined) headers['x-chain-id'] = String(options.chainId);
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return headers;
}

/** The error of an attempt that ran past its deadline. */
export function timeoutError(method: string, path: string, timeoutMs: number): PacSpaceApiError {
  return new PacSpaceApiError(`PacSpace did not answer ${method} ${path} within ${timeoutMs} ms`, { status: 0, code: 'TIMEOUT', requestPath: path });
}

/** The error of an attempt that could not reach PacSpace, or lost the connection before the answer was complete. */
export function networkError(path: string, cause: unknown): PacSpaceApiError {
  const code = (cause as NodeJS.ErrnoException)?.code;
  return new PacSpaceApiError(`Could not reach PacSpace for ${path}: ${code ?? (cause as Error)?.message ?? 'network error'}`, {
    status: 0,
    code: 'NETWORK_ERROR',
    requestPath: path,
    cause,
  });
}

/** Turns a response into an {@link ApiAnswer}, or throws a typed {@link PacSpaceApiError}. */
export function parseAnswer(status: number, headers: http.IncomingHttpHeaders, text: string, path: string): ApiAnswer {
  const success = status >= 200 && status < 300;
  const body = parseObject(text);
  if (body === undefined && success) {
    throw new PacSpaceApiError(`PacSpace answered ${status} with a body that is not a JSON object`, { status, code: 'API_ERROR', requestPath: path });
  }
  const fields = body ?? {};
  const nested = isObject(fields.error) ? fields.error : {};
  const code = stringField(nested.code) ?? stringField(fields.code);
  const retryAfterMs = longestHint(retryAfterFromHeader(headers['retry-after']), secondsField(nested.retryAfterSeconds) ?? secondsField(fields.retryAfterSeconds));
  if (success) {
    if (code === 'IDEMPOTENCY_PENDING') return { status, data: {}, replayed: false, pending: true, retryAfterMs };
    const data = isObject(fields.data) ? fields.data : fields;
    const replayed = headers['idempotent-replayed'] === 'true' || data.idempotent === true;
    return { status, data, replayed, pending: false, retryAfterMs };
  }
  const init = { status, code: code === undefined ? defaultCode(status) : boundText(code, MAX_UPSTREAM_CODE_LENGTH), requestPath: path, retryAfterMs };
  if (!isPacSpaceErrorBody(status, fields)) {
    const what = describeBody(text, headers['content-type']);
    throw new PacSpaceApiError(
      `${path} answered ${status} with ${what}, not PacSpace's error body: the answer of a proxy, load balancer or firewall between (or of a baseUrl that is not PacSpace)`,
      { ...init, code: defaultCode(status), pacspaceEnvelope: false },
    );
  }
  const message = boundText(stringField(nested.message) ?? joinMessage(fields.message) ?? `PacSpace answered ${status}`, MAX_UPSTREAM_MESSAGE_LENGTH);
  const customerId = stringField(nested.customerId) ?? stringField(fields.customerId);
  const own = { ...init, customerId, pacspaceEnvelope: true };
  if (status === 409) throw new IdempotencyConflictError(`Idempotency conflict on ${path}: ${message}`, own);
  throw new PacSpaceApiError(message, own);
}

/**
 * Whether an error answer's body is PacSpace's JSON error envelope, in one of its documented
 * shapes: `{ error: { code, message } }` (with or without `success` and `statusCode`), the flat
 * `{ code, message }`, or the older `{ statusCode, error, message }` whose `statusCode` is the HTTP
 * status. An HTML page, text, an empty body or other JSON (a gateway's `{ "message": "Not Found" }`)
 * is not: it comes from something between the Meter and PacSpace.
 */
function isPacSpaceErrorBody(status: number, body: Record<string, unknown>): boolean {
  if (isObject(body.error) && stringField(body.error.code) !== undefined) return true;
  const message = joinMessage(body.message);
  if (message === undefined) return false;
  return stringField(body.code) !== undefined || body.statusCode === status;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** What an answer that is not PacSpace's carried (`an HTML page`, `JSON of another shape`, ...), for its error message. */
function describeBody(text: string, contentType: string | undefined): string {
  if (text.trim() === '') return 'an empty body';
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/html' || /^\s*</.test(text)) return 'an HTML page';
  if (type === 'application/json' || type.endsWith('+json')) return 'JSON of another shape';
  return type ? `a ${boundText(type, 60)} body` : 'a body that is not JSON';
}

/** Parses `Retry-After` as seconds or an HTTP date; undefined when absent or nonsense. */
export function retryAfterFromHeader(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The longer of the header and body retry hints: waiting less than either would retry too early. */
function longestHint(header: number | undefined, body: number | undefined): number | undefined {
  if (header === undefined) return body;
  return body === undefined ? header : Math.max(header, body);
}

function defaultCode(status: number): string {
  const known: Record<number, string> = { 400: 'VALIDATION_ERROR', 401: 'INVALID_API_KEY', 402: 'INSUFFICIENT_CREDITS', 404: 'NOT_FOUND', 409: 'IDEMPOTENCY_CONFLICT', 412: 'CONTRACT_NOT_DEPLOYED', 429: 'RATE_LIMITED', 503: 'SERVICE_UNAVAILABLE' };
  return known[status] ?? 'API_ERROR';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
function secondsField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
}
function joinMessage(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join('; ') || undefined;
  return stringField(value);
}
