import { claimKey, claimOnce, deltasProblem, enqueueUsage, type DeltaInput, type Meter, type UsageDelta } from '@pacspace-metering/core';
import type { RequestState } from './request-state.js';

/**
 * Bills the several deltas of one delivered response (the `deltas` option; `input.delta` holds
 * the resolved list): a list that cannot be used is refused naming the field; each reason is
 * claimed once for this request, then enqueued under a referenceId from the request id. Answers
 * the store's promise of durability, if any. Never throws.
 */
export function enqueueDeltas(meter: Meter, input: Partial<Record<keyof DeltaInput, unknown>>, state: RequestState): Promise<boolean> | undefined {
  const { customerId, requestId } = input as { customerId: string; requestId: string };
  const problem = deltasProblem(input.delta);
  if (problem !== undefined) return void meter.refuse(problem, { customerId, requestId });
  if (state.idFailure !== undefined) return void meter.refuse(state.idFailure, { customerId, requestId });
  const all = input.delta as UsageDelta[];
  const fresh = typeof customerId === 'string' ? all.filter((d) => claimOnce(state, claimKey(meter.scope, d.reason, customerId))) : all;
  const results = enqueueUsage(meter, { customerId, requestId, deltas: fresh, metadata: input.metadata as Record<string, unknown> | undefined });
  const committed = results.map((r) => (r as { committed?: Promise<boolean> }).committed).filter((c) => c !== undefined);
  return committed.length === 0 ? undefined : Promise.all(committed).then((all) => all.every(Boolean));
}
