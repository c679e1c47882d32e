import { createHash, randomUUID } from 'node:crypto';
import { DeltaValidationError } from '../errors.js';
import { randomHex } from '../random-hex.js';
import { thenableError } from '../intake/validation.js';

/** Where a request id came from, in the order they are tried. */
export type RequestIdSource = 'option' | 'req.id' | 'header' | 'generated';

/** How {@link resolveRequestId} finds a request's id. */
export interface RequestIdOptions<Req> {
  /**
   * Your own id for the request; tried first and used as it is. A value that is not a valid id is
   * ignored; a resolver that throws or returns a Promise is reported (see {@link ResolvedRequestId}).
   */
  requestId?: (req: Req) => unknown;
  /**
   * Trust `req.id` set by an upstream middleware (pino-http, Fastify, nestjs-pino). Off by default:
   * the usual recipes copy it from the client's `X-Request-Id`, and a client that sends the same id
   * twice would have both calls billed as one.
   */
  trustUpstreamId?: boolean;
  /**
   * A request header to take the id from, e.g. `'x-request-id'`. Off by default: a client that
   * sends the same id twice would have both calls billed as one.
   */
  requestIdHeader?: string;
}

/** The minimum a request must offer: Node's `IncomingMessage`, Express's `req` and Fastify's `request` all do. */
export interface RequestLike {
  id?: unknown;
  headers: Record<string, string | string[] | undefined>;
  method?: string | undefined;
  url?: string | undefined;
  /** Express's full URL (`url` is relative inside a router). */
  originalUrl?: string | undefined;
}

/**
 * What {@link resolveRequestId} found.
 *
 * @example
 * const { id, source, error } = resolveRequestId(req, options);
 * if (error) meter.refuse(error, { customerId, reason }); // the requestId resolver is broken
 */
export interface ResolvedRequestId {
  id: string;
  source: RequestIdSource;
  /**
   * Set when the `requestId` option threw or returned a Promise, naming `requestId`. `id` is then
   * a fresh UUID, good for an echo header, but billing under it would count a retry your resolver
   * meant to deduplicate (an Idempotency-Key, a message id) a second time: refuse the delta with
   * this error instead.
   */
  error?: DeltaValidationError;
}

/** A request id accepted from outside: 1-128 characters of `[A-Za-z0-9_.:-]`. */
const ACCEPTED_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Ids that restart at 1 with every process: pino-http's counter, Fastify's `req-<base36>`. */
const PROCESS_LOCAL_COUNTER = /^(?:\d+|req-[0-9a-z]+)$/;

/** Random per process: qualifies counter ids so a restart or a second instance cannot reuse them. */
export const PROCESS_INSTANCE_ID = randomHex(6);

/**
 * Finds the id of a request, in this order: `options.requestId(req)`; `req.id` set by an upstream
 * middleware, only with `options.trustUpstreamId`; the header named by `options.requestIdHeader`;
 * else a fresh UUID. A value that is not 1-128 characters of `[A-Za-z0-9_.:-]` is skipped. A
 * counter id (`42`, `req-1a`) is prefixed with {@link PROCESS_INSTANCE_ID}, because counters start
 * again at 1 in every process and would make a new call look like a replay of an old one.
 *
 * An id from `req.id` or a header is one the client can choose, so it identifies a call only
 * together with what was called: it gets `.{16 hex of the SHA-256 of method and URL}` appended. A
 * retry of the same call keeps its id (billed once); the same id sent to another URL, or with
 * another method, is another call (billed too, and never a 409 for reusing a key with a different
 * body). Your own `requestId` is used as it is: you decide what it identifies.
 *
 * @example
 * resolveRequestId(req, { requestIdHeader: 'x-request-id' }); // -> { id: 'abc-123.5e0b4c1f9a3d7e28', source: 'header' }
 */
export function resolveRequestId<Req extends RequestLike>(req: Req, options: RequestIdOptions<Req> = {}): ResolvedRequestId {
  if (options.requestId) {
    const own = ownId(options.requestId, req);
    if (own instanceof DeltaValidationError) return { id: randomUUID(), source: 'generated', error: own };
    if (own !== undefined) return { id: own, source: 'option' };
  }
  if (options.trustUpstreamId) {
    const upstream = accept(req.id);
    if (upstream) return { id: perCall(upstream, req), source: 'req.id' };
  }
  if (options.requestIdHeader) {
    const fromHeader = accept(req.headers[options.requestIdHeader.toLowerCase()]);
    if (fromHeader) return { id: perCall(fromHeader, req), source: 'header' };
  }
  return { id: randomUUID(), source: 'generated' };
}

/** True when `value` is a request id this library accepts from outside. */
export function isAcceptedRequestId(value: unknown): value is string {
  return typeof value === 'string' && ACCEPTED_ID.test(value);
}

function accept(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (!isAcceptedRequestId(text)) return undefined;
  return PROCESS_LOCAL_COUNTER.test(text) ? `${PROCESS_INSTANCE_ID}-${text}` : text;
}

/** The user's own id; a resolver that throws or returns a Promise gives the error that reports it. */
function ownId<Req>(resolver: (req: Req) => unknown, req: Req): string | undefined | DeltaValidationError {
  let value: unknown;
  try {
    value = resolver(req);
  } catch (cause) {
    return new DeltaValidationError('requestId', `the requestId resolver threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return thenableError(value, 'requestId') ?? accept(value);
}

/** A client-chosen id, bound to the call it came with: `{id}.{16 hex of sha256(method + ' ' + url)}`. */
function perCall(id: string, req: RequestLike): string {
  const call = `${req.method ?? ''} ${req.originalUrl ?? req.url ?? ''}`;
  return `${id}.${createHash('sha256').update(call).digest('hex').slice(0, 16)}`;
}
