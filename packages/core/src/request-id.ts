import { randomBytes, randomUUID } from 'node:crypto';

/** Where a request id came from, in the order they are tried. */
export type RequestIdSource = 'option' | 'req.id' | 'header' | 'generated';

/** How {@link resolveRequestId} finds a request's id. */
export interface RequestIdOptions<Req> {
  /** Your own id for the request; tried first. A value that is not a valid id is ignored. */
  requestId?: (req: Req) => unknown;
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
}

/** A request id accepted from outside: 1-128 characters of `[A-Za-z0-9_.:-]`. */
const ACCEPTED_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Ids that restart at 1 with every process: pino-http's counter, Fastify's `req-<base36>`. */
const PROCESS_LOCAL_COUNTER = /^(?:\d+|req-[0-9a-z]+)$/;

/** Random per process: qualifies counter ids so a restart or a second instance cannot reuse them. */
export const PROCESS_INSTANCE_ID = randomBytes(6).toString('hex');

/**
 * Finds the id of a request, in this order: `options.requestId(req)`; `req.id` set by an upstream
 * middleware (pino-http, Fastify, nestjs-pino); the header named by `options.requestIdHeader`;
 * else a fresh UUID. A value that is not 1-128 characters of `[A-Za-z0-9_.:-]` is skipped. A
 * counter id (`42`, `req-1a`) is prefixed with {@link PROCESS_INSTANCE_ID}, because counters start
 * again at 1 in every process and would make a new call look like a replay of an old one.
 *
 * @example
 * resolveRequestId(req, { requestIdHeader: 'x-request-id' }); // -> { id: 'abc-123', source: 'header' }
 */
export function resolveRequestId<Req extends RequestLike>(req: Req, options: RequestIdOptions<Req> = {}): { id: string; source: RequestIdSource } {
  if (options.requestId) {
    const own = accept(safeCall(options.requestId, req));
    if (own) return { id: own, source: 'option' };
  }
  const upstream = accept(req.id);
  if (upstream) return { id: upstream, source: 'req.id' };
  if (options.requestIdHeader) {
    const fromHeader = accept(req.headers[options.requestIdHeader.toLowerCase()]);
    if (fromHeader) return { id: fromHeader, source: 'header' };
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

function safeCall<Req>(fn: (req: Req) => unknown, req: Req): unknown {
  try {
    return fn(req);
  } catch {
    return undefined;
  }
}
