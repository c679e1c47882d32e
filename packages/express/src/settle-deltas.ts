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
): Promise<boolean> | undefined {
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
  const list = deltas as UsageDelta[];
  const fresh = typeof customerId === 'string' ? unclaimed(state, meter.scope, customerId, list) : list;
  const results = enqueueUsage(meter, { customerId: customerId as string, requestId, deltas: fresh, metadata: metadata as Record<string, unknown> });
  return durability(results);
}

/**
 * The deltas of `list` this request was not billed for yet (by another middleware, `meterNow`),
 * each claimed now; `list` itself when none was (the common case: no copy).
 */
function unclaimed(state: object, scope: string, customerId: string, list: UsageDelta[]): UsageDelta[] {
  let fresh: UsageDelta[] | undefined;
  for (let i = 0; i < list.length; i++) {
    if (claimOnce(state, claimKey(scope, list[i]!.reason, customerId))) fresh?.push(list[i]!);
    else fresh ??= list.slice(0, i);
  }
  return fresh ?? list;
}

/** With a store that writes behind: resolves once every delta is durable (true) or one is not (false). */
function durability(results: ReadonlyArray<object>): Promise<boolean> | undefined {
  let committed: Array<Promise<boolean>> | undefined;
  for (const result of results) {
    const promise = (result as { committed?: Promise<boolean> }).committed;
    if (promise !== undefined) (committed ??= []).push(promise);
  }
  return committed === undefined ? undefined : Promise.all(committed).then((all) => all.every(Boolean));
}
