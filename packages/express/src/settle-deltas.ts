import { claimKey, claimOnce, customerIdOf, DeltaValidationError, deltasProblem, enqueueUsage, NOTHING_TO_BILL, skipped, type Meter, type UsageDelta } from '@pacspace-metering/core';
import type { Request, Response } from 'express';
import { mergeMetadata, ResolverError, resolveField } from './delta-input.js';
import type { MiddlewareConfig } from './options.js';

/**
 * Bills a finished request's several deltas (the `deltas` option): resolves the customer, the
 * list and the metadata with the handler's `result`, claims each reason once for this request (a
 * second middleware with the same reason and customer does not bill it again), and enqueues them
 * under referenceIds built from `requestId`. Refusals are counted and reported by the meter;
 * `NOTHING_TO_BILL` is counted as skipped. Answers the store's promise of durability, if any.
 */
export function settleDeltas(
  meter: Meter,
  config: MiddlewareConfig,
  req: Request,
  res: Response,
  requestId: string,
  state: object,
  result: unknown,
  idFailure: DeltaValidationError | undefined,
): Promise<unknown> | undefined {
  const customerId = customerIdOf(resolveField('customerId', config.customerId, req, res, result));
  const deltas = resolveField('deltas', config.deltas!, req, res, result);
  const metadata = mergeMetadata(req, config.metadata === undefined ? undefined : resolveField('metadata', config.metadata, req, res, result));
  for (const value of [customerId, deltas, metadata]) {
    if (value instanceof ResolverError) return void meter.refuse(new DeltaValidationError(value.option, value.message, { cause: value.cause }), { requestId });
  }
  if (idFailure !== undefined) return void meter.refuse(idFailure, { requestId });
  if (customerId === NOTHING_TO_BILL || deltas === NOTHING_TO_BILL) return void skipped(meter, 'nothing_to_bill', { requestId });
  const problem = deltasProblem(deltas);
  if (problem !== undefined) return void meter.refuse(problem, { requestId, customerId: customerId as string });
  // A reason this request was already billed for (another middleware, meterNow) is not billed again.
  const fresh = typeof customerId === 'string' ? (deltas as UsageDelta[]).filter((d) => claimOnce(state, claimKey(meter.scope, d.reason, customerId))) : (deltas as UsageDelta[]);
  const results = enqueueUsage(meter, { customerId: customerId as string, requestId, deltas: fresh, metadata: metadata as Record<string, unknown> });
  const committed = results.map((r) => (r as { committed?: Promise<boolean> }).committed).filter((c) => c !== undefined);
  return committed.length === 0 ? undefined : Promise.all(committed);
}
