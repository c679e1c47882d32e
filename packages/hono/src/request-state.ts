import { resolveRequestId, type DeltaValidationError } from '@pacspace-metering/core';
import { randomUUID } from 'node:crypto';

/**
 * What this package keeps per request: the id it is billed under (picked by the first adapter
 * that sees the request, reused by the others), the error of a `requestId` resolver that failed,
 * and the keys it was claimed under (core's `claimOnce` writes them onto this object).
 */
export interface RequestState {
  id?: string;
  idFailure?: DeltaValidationError;
}

/** The request's own id, for the Hono middleware's `trustUpstreamId` (`c.get('requestId')` of `hono/request-id`). */
export interface IdSources {
  /** The user's `requestId` resolver, bound to the request. */
  own: (() => unknown) | undefined;
  upstream: (() => unknown) | undefined;
  /** Lower-cased name of the trusted request header. */
  header: string | undefined;
}

/**
 * One map for every copy of this package (ESM and CommonJS builds, two versions in one bundle),
 * so that a request passing through two of them is still billed once per reason.
 */
const STATES_KEY = Symbol.for('pacspace-metering.fetch-request-state');
const states: WeakMap<Request, RequestState> = ((globalThis as Record<symbol, unknown>)[STATES_KEY] as WeakMap<Request, RequestState> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[STATES_KEY] = new WeakMap<Request, RequestState>());

/** The state of `request`, made on first use. */
export function stateOf(request: Request): RequestState {
  let state = states.get(request);
  if (state === undefined) states.set(request, (state = {}));
  return state;
}

/**
 * The id `request` is billed under, resolved once: `sources.own()`, the upstream id when trusted,
 * the trusted header, else a fresh UUID (core's `resolveRequestId`: ids from outside are checked
 * for length and charset, and a client-chosen one is bound to the method and path it came with).
 */
export function requestIdOf(request: Request, state: RequestState, sources: IdSources): string {
  if (state.id !== undefined) return state.id;
  if (sources.own === undefined && sources.upstream === undefined && sources.header === undefined) return (state.id = randomUUID());
  const url = new URL(request.url);
  const like = {
    id: sources.upstream?.(),
    headers: sources.header === undefined ? {} : { [sources.header]: request.headers.get(sources.header) ?? undefined },
    method: request.method,
    url: url.pathname + url.search,
  };
  const { id, error } = resolveRequestId(like, { requestId: sources.own, trustUpstreamId: sources.upstream !== undefined, requestIdHeader: sources.header });
  if (error !== undefined) state.idFailure = error;
  return (state.id = id);
}
