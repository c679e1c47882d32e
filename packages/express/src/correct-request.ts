import { buildReferenceId, correctionOf, customerIdOf, type DeliveryReceipt, type Meter } from '@pacspace-metering/core';
import type { Request } from 'express';
import { assertMeter } from './options.js';
import { requestIdOf, stateOf } from './request-id.js';

/**
 * What {@link correctRequest} reverses: the delta billed for this request, named as it was billed,
 * and how to correct it.
 *
 * @example
 * const input: CorrectRequestInput = { customerId: 'acct_42', reason: 'export', delta: -10 };
 */
export interface CorrectRequestInput {
  /** Who was billed, as given to `meterNow()` or returned by the middleware's resolver. */
  customerId: string | number;
  /** The billed delta's reason. Default `'api_request'`. */
  reason?: string | undefined;
  /** What was billed. Default `-1`. */
  delta?: number | undefined;
  /** The correction's amount. Default `-delta`: the whole call reversed. */
  amount?: number | undefined;
  /** The correction's own reason. Default `'correction'`. */
  correctionReason?: string | undefined;
  /** Tells several corrections of one call apart (1-32 of `[A-Za-z0-9_.-]`). Default `'reversal'`. */
  label?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Reverses what this request was billed when its work failed after the billing (typically after
 * `await meterNow(...)`): sends, and waits for, a correction delta through PacSpace's `adjusts`,
 * naming the request's billed delta by the referenceId `meterNow()` and `meterRequests()` gave it
 * (`{scope}:{reason}:{customerId}:{requestId}`). Its own referenceId is fixed by that one
 * (`…~reversal`), so calling it again (a retry, a second failure path, a client retrying the
 * request under the same id) applies it once. Resolves with PacSpace's receipt; rejects with the
 * typed error otherwise (it can be called again safely).
 *
 * Only for a delta PacSpace already has: after `meterNow()` resolved. A call billed by the
 * middleware when its response finished needs no correction when the work failed before the
 * answer (a failed response is not billed).
 *
 * @param meter - the Meter the request was billed through.
 * @param req - the request being served.
 * @param input - how the call was billed: `customerId` (required), `reason` (default
 *   `'api_request'`), `delta` (default -1); and the correction's `amount`, `correctionReason`, `label`, `metadata`.
 *
 * @example
 * app.post('/v1/exports', async (req, res, next) => {
 *   const billed = { customerId: req.user.accountId, reason: 'export', delta: -10 };
 *   await meterNow(meter, req, billed);
 *   try {
 *     res.json(await buildExport(req));
 *   } catch (err) {
 *     await correctRequest(meter, req, billed); // the export failed: give the 10 units back
 *     next(err);
 *   }
 * });
 */
export async function correctRequest(meter: Meter, req: Request, input: CorrectRequestInput): Promise<DeliveryReceipt> {
  assertMeter(meter);
  const { reason = 'api_request', delta = -1, amount, correctionReason, label, metadata } = input ?? ({} as CorrectRequestInput);
  const customerId = customerIdOf(input?.customerId) as string;
  const requestId = requestIdOf(req, stateOf(req), {});
  const referenceId = buildReferenceId({ scope: meter.scope, operation: reason, customerId, requestId });
  return meter.emit(correctionOf({ referenceId, customerId, delta, amount, reason: correctionReason, label, metadata }));
}
