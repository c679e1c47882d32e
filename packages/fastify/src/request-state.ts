import { PROCESS_INSTANCE_ID, resolveRequestId, type DeltaValidationError, type RequestIdOptions } from '@pacspace-metering/core';
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * Where a request's metering state is kept: a request decorator (declared by the plugin, so every
 * request has the property from the start and V8 keeps one shape). `Symbol.for`, so the ESM and
 * CommonJS copies of this package, and two registrations of the plugin, agree.
 */
export const STATE = Symbol.for('pacspace-metering.fastify-state');

/** What the plugin and `meterNow` keep per request; core's claims (`claimOnce`) are written on it too. */
export class MeteringState {
  /** The id the request is billed under, once picked. */
  requestId: string | undefined = undefined;
  /** The error of a `requestId` resolver that threw or returned a Promise: the request is refused, not billed under a random id. */
  failure: DeltaValidationError | undefined = undefined;
}

type Holder = { [STATE]?: MeteringState | null };

/** The request's state, created the first time anyone asks. */
export function stateOf(request: FastifyRequest): MeteringState {
  const holder = request as Holder;
  return (holder[STATE] ??= new MeteringState());
}

/** How a registration picks request ids; `instanceId` qualifies counter ids (`req-1`). */
export interface IdRules extends RequestIdOptions<FastifyRequest> {
  instanceId: string;
}

/**
 * The id this request is billed under, resolved once per request: the first registration (or
 * `meterNow`) that sees the request picks it, everyone after reuses it, so two meters on one
 * request build the same referenceId. Order: `requestId(request)`, `request.id` when trusted, the
 * trusted header, a fresh UUID (core's `resolveRequestId`). A counter id (Fastify's `req-1`) is
 * qualified with the registration's random `instanceId`, not only the process's: two Fastify apps
 * in one process both count from `req-1`.
 */
export function requestIdOf(request: FastifyRequest, state: MeteringState, rules: IdRules | undefined): string {
  if (state.requestId !== undefined) return state.requestId;
  // The common case (nothing configured) is a UUID: skip the look-ups, request.id is not even read.
  if (rules === undefined) return (state.requestId = randomUUID());
  const { id, source, error } = resolveRequestId(request, rules);
  if (error !== undefined) state.failure = error;
  const qualified = source !== 'generated' && id.startsWith(`${PROCESS_INSTANCE_ID}-`) ? rules.instanceId + id.slice(PROCESS_INSTANCE_ID.length) : id;
  return (state.requestId = qualified);
}

/**
 * Returns the id a request is billed under (the last segment of its referenceIds), once the
 * plugin or `meterNow()` has seen the request; otherwise `undefined`. Handy for logs and support
 * tickets (`responseHeader: 'x-request-id'` also echoes it to the client).
 *
 * @example
 * app.get('/v1/reports/:id', async (request) => {
 *   request.log.info({ billedAs: getRequestId(request) }, 'report served');
 *   return report;
 * });
 */
export function getRequestId(request: FastifyRequest): string | undefined {
  return (request as Holder)[STATE]?.requestId;
}
