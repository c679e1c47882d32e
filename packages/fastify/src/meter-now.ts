import { MeteringConfigError, claimKey, claimOnce, customerIdOf, type DeliveryReceipt, type DeltaInput, type Meter } from '@pacspace-metering/core';
import type { FastifyRequest } from 'fastify';
import { metadataOf } from './bill.js';
import { requestIdOf, stateOf } from './request-state.js';

/**
 * What {@link meterNow} bills.
 *
 * @example
 * const input: MeterNowInput = { customerId: 'acct_42', reason: 'export', delta: -10, metadata: { rows: 1200 } };
 */
export interface MeterNowInput {
  /** Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`, or a safe integer (billed as its decimal string). */
  customerId: string | number;
  /**
   * Balance change: finite, non-zero, within ±1e9 (negative consumes).
   *
   * @default -1
   */
  delta?: number | undefined;
  /**
   * Why: 1-500 characters. Use the route's reason so the plugin does not bill the request a
   * second time.
   *
   * @default 'api_request'
   */
  reason?: string | undefined;
  /** Extra metadata, merged over the library's `route` and `method` as the plugin does. */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Awaited metering for critical paths: sends the delta for this request now and resolves once
 * PacSpace has it, with the receipt; rejects with the typed error otherwise (`DeltaValidationError`
 * for bad input, `PacSpaceApiError` for a permanent refusal such as 402, `DeltaDroppedError` when
 * retries ran out). It uses the request's id (the one the plugin picked, else a fresh UUID kept on
 * the request; `request.id` is not trusted here), so the referenceId is the one the plugin would
 * build, and it claims the request for (reason, customer): the plugin does not bill it again when
 * the response finishes. When the plugin's `requestId` resolver failed for this request, it
 * rejects with that error (the delta is refused, counted and reported) rather than bill under a
 * random id.
 *
 * Calling it again for the same request (to retry after a rejection) sends the same referenceId,
 * which PacSpace deduplicates: it can never bill twice. Keep the fields identical on such a retry,
 * or PacSpace answers 409 (same key, different body).
 *
 * @param meter - a Meter from `createMeter()`.
 * @param request - the Fastify request being served.
 * @param input - `customerId` (required); `delta` (default -1); `reason` (default `'api_request'`); `metadata`.
 * @returns PacSpace's receipt (`referenceId`, `deduplicated`, `attempts`, `receipt`).
 *
 * @example
 * app.post('/v1/exports', { config: { metering: { reason: 'export' } } }, async (request, reply) => {
 *   try {
 *     await meterNow(meter, request, { customerId: request.user.accountId, reason: 'export', delta: -10 });
 *   } catch {
 *     return reply.code(402).send({ error: 'usage could not be recorded' });
 *   }
 *   return buildExport(request);
 * });
 */
export async function meterNow(meter: Meter, request: FastifyRequest, input: MeterNowInput): Promise<DeliveryReceipt> {
  if (typeof meter?.emit !== 'function' || typeof meter.scope !== 'string') throw new MeteringConfigError('meter', 'must be a Meter from createMeter() (with scope, enqueue and emit)');
  const { customerId, delta = -1, reason = 'api_request', metadata } = input ?? ({} as MeterNowInput);
  const state = stateOf(request);
  const requestId = requestIdOf(request, state, undefined);
  const payer = customerIdOf(customerId);
  const fields = { customerId: payer, delta, reason, requestId, metadata: metadataOf(request.routeOptions.url, request.method, metadata) } as DeltaInput;
  if (typeof payer === 'string' && typeof reason === 'string') claimOnce(state, claimKey(meter.scope, reason, payer));
  if (state.failure === undefined) return meter.emit(fields);
  // The plugin's requestId resolver failed: the random id it fell back to must not be billed.
  meter.refuse(state.failure, fields);
  throw state.failure;
}
