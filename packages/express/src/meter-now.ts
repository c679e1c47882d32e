import { claimOnce, customerIdOf, type DeliveryReceipt, type Meter } from '@pacspace-metering/core';
import type { Request } from 'express';
import { deltaInput, mergeMetadata } from './delta-input.js';
import { assertMeter } from './options.js';
import { requestIdFailureOf, requestIdOf, stateOf } from './request-id.js';

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
   * Why: 1-500 characters. Use the same reason as the route's `meterRequests()` so the
   * middleware does not bill the request a second time.
   *
   * @default 'api_request'
   */
  reason?: string | undefined;
  /** Extra metadata, merged over the library's `route` and `method` as the middleware does. */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Awaited metering for critical paths: sends the delta for this request now and resolves once
 * PacSpace has it, with the receipt; rejects with the typed error otherwise (`DeltaValidationError`
 * for bad input, `PacSpaceApiError` for a permanent refusal such as 402, `DeltaDroppedError` when
 * retries ran out). It uses the request's id (the one `meterRequests()` picked, else a fresh UUID
 * stored on the request; `req.id` is not trusted here), so the referenceId is the same one the
 * middleware would build, and it claims that referenceId on the request: a `meterRequests()` with
 * the same reason and customer does not bill the request again when the response finishes. When
 * the middleware's `requestId` resolver failed for this request, it rejects with that error (the
 * delta is refused, counted and reported) rather than bill under a random id.
 *
 * Calling it again for the same request (e.g. to retry after a rejection) sends the same
 * referenceId, which PacSpace deduplicates: it can never bill twice. Keep the fields identical on
 * such a retry, or PacSpace answers 409 (same key, different body).
 *
 * @param meter - a Meter from `createMeter()`.
 * @param req - the Express request being served.
 * @param input - `customerId` (required); `delta` (default -1); `reason` (default `'api_request'`); `metadata`.
 * @returns PacSpace's receipt (`referenceId`, `deduplicated`, `attempts`, `receipt`).
 *
 * @example
 * app.post('/v1/exports', meterRequests(meter, { customerId, reason: 'export' }), async (req, res) => {
 *   try {
 *     await meterNow(meter, req, { customerId: req.user.accountId, reason: 'export', delta: -10 });
 *   } catch (err) {
 *     return res.status(402).json({ error: 'usage could not be recorded' });
 *   }
 *   res.json(await buildExport(req));
 * });
 */
export async function meterNow(meter: Meter, req: Request, input: MeterNowInput): Promise<DeliveryReceipt> {
  assertMeter(meter);
  const { customerId, delta = -1, reason = 'api_request', metadata } = input ?? ({} as MeterNowInput);
  const state = stateOf(req);
  const requestId = requestIdOf(req, state, {});
  const { input: fields, claim } = deltaInput(meter, customerIdOf(customerId), delta, reason, requestId, mergeMetadata(req, metadata));
  if (claim !== undefined) claimOnce(state, claim);
  const idFailure = requestIdFailureOf(state);
  if (idFailure === undefined) return meter.emit(fields);
  // The middleware's requestId resolver failed: the random id it fell back to must not be billed.
  meter.refuse(idFailure, fields);
  throw idFailure;
}
