import { randomUUID } from 'node:crypto';
import { PROCESS_INSTANCE_ID, REQUEST_ID_KEY, resolveRequestId, type RequestIdOptions } from '@pacspace-metering/core';
import type { ResolvedMeteringOptions } from '../module/metering.options.js';
import type { HttpObject } from '../enhancer/http-object.js';

/** How core qualifies counter ids: `${PROCESS_INSTANCE_ID}-req-1`. */
const PROCESS_QUALIFIER = `${PROCESS_INSTANCE_ID}-`;

/** The request-id options in core's shape, built once per module options object. */
const coreOptions = new WeakMap<ResolvedMeteringOptions, RequestIdOptions<any>>();

/**
 * @internal The request id of an HTTP call, per core's `resolveRequestId` (option, trusted
 * `req.id`, trusted header, fresh UUID), with two Nest twists: behind the Express middleware, the
 * id it already chose (core's `REQUEST_ID_KEY` in `res.locals`); and a counter id (`req-1`) is
 * qualified with `instanceId`, random per application, not only per process. Throws the error
 * naming `requestId` when the `requestId` option throws or returns a Promise.
 */
export function httpRequestIdOf(options: ResolvedMeteringOptions, instanceId: string, req: HttpObject, res: HttpObject): string {
  // Read from `res` directly: each property read on Express's req/res is a lookup V8 cannot cache.
  const fromMiddleware = res.locals?.[REQUEST_ID_KEY];
  if (typeof fromMiddleware === 'string') return fromMiddleware;
  const { requestId, trustUpstreamId, requestIdHeader } = options;
  // The common case without a detour: nothing configured, a fresh id (req.id is not even read).
  if (requestId === undefined && requestIdHeader === undefined && !trustUpstreamId) return randomUUID();
  let resolveOptions = coreOptions.get(options);
  if (resolveOptions === undefined) coreOptions.set(options, (resolveOptions = { requestId, trustUpstreamId, requestIdHeader }));
  const { id, source, error } = resolveRequestId(req as Parameters<typeof resolveRequestId>[0], resolveOptions);
  if (error !== undefined) throw error;
  return source !== 'generated' && id.startsWith(PROCESS_QUALIFIER) ? `${instanceId}${id.slice(PROCESS_INSTANCE_ID.length)}` : id;
}
