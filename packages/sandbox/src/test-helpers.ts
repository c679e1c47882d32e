// Shared by the tests only (excluded from the build): real HTTP against a real sandbox.
import { request } from 'node:http';
import type { Sandbox } from './server.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // Tests read arbitrary fields of the body; `any` keeps assertions short.
  json: any;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body text instead of JSON-serializing `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  /** Override the API key; `null` sends none. */
  apiKey?: string | null;
}

/** One request with global fetch; the sandbox key is sent unless told otherwise. */
export async function call(sb: Sandbox, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  const key = options.apiKey === undefined ? sb.apiKey : options.apiKey;
  if (key !== null) headers['x-api-key'] = key;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const res = await fetch(sb.url + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

export const post = (sb: Sandbox, path: string, body: unknown, options: CallOptions = {}): Promise<ApiResponse> =>
  call(sb, 'POST', path, { ...options, body });

export const DELTA = '/api/v1/balance/delta';
export const BATCH = '/api/v1/balance/delta/batch';
export const CHECKPOINT = '/api/v1/balance/checkpoint';

/** A valid delta body, with overrides. */
export function delta(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { customerId: 'cust_1', delta: 1, reason: 'api_call', ...overrides };
}

export type RawOutcome = { kind: 'response'; status: number; body: string } | { kind: 'dropped'; code: string | undefined };

/**
 * A POST over node:http on a fresh connection, so a socket the server drops shows up as an error
 * code instead of fetch's generic failure.
 */
export function rawPost(sb: Sandbox, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawOutcome> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      sb.url + path,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-api-key': sb.apiKey, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ kind: 'response', status: res.statusCode ?? 0, body: text }));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'dropped', code: err.code }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'dropped', code: err.code }));
    req.end(payload);
  });
}

/** The UTC month `offset` months from now, as YYYY-MM. */
export function monthFromNow(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
}
