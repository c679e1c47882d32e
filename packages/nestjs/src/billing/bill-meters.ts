import type { ExecutionContext } from '@nestjs/common';
import { claimKey, enqueueUsage, NOTHING_TO_BILL, thenableError, type Meter, type UsageDelta } from '@pacspace-metering/core';
import type { RouteMetering } from '../metering/metering.route.js';
import type { RouteMeter } from '../metering/route-meters.js';
import { claimedByMiddleware } from './middleware-claims.js';

/** @internal What billing several meters needs of the billing call (CallBilling). */
export interface MeterBilling {
  meter(): Meter;
  metadataOf(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown>;
  refuse(route: RouteMetering, field: string, err: unknown, customerId?: unknown): undefined;
  skip(reason: string, customerId: unknown, requestId: string): undefined;
}

/**
 * @internal Bills a call with several meters (`@Metered([...])`): each meter's delta from the
 * request and the handler's value, then one `enqueueUsage` (one referenceId per reason, from the
 * same request id). A meter whose resolver throws or returns a Promise is refused alone, naming
 * `meters[i].delta` (or `.metadata`); the others are billed. 0 or `NOTHING_TO_BILL`: skipped.
 * Answers the store's promise of durability when it writes behind.
 */
export function billMeters(
  billing: MeterBilling,
  route: RouteMetering,
  context: ExecutionContext,
  req: unknown,
  requestId: string,
  result: unknown,
  base: Record<string, unknown>,
  customerId: unknown,
): Promise<boolean> | undefined {
  let metadata: Record<string, unknown>;
  try {
    metadata = billing.metadataOf(route, context, req, result, base);
  } catch (err) {
    return billing.refuse(route, 'metadata', err, customerId);
  }
  const meter = billing.meter();
  const deltas: UsageDelta[] = [];
  route.meters!.forEach((entry, i) => {
    const delta = resolveDelta(billing, route, entry, i, context, req, result, customerId);
    if (delta === undefined) return;
    if (delta === NOTHING_TO_BILL) return void billing.skip(entry.reason, customerId, requestId);
    if (typeof customerId === 'string' && claimedByMiddleware(req, claimKey(meter.scope, entry.reason, customerId))) return;
    const own = resolveMetadata(billing, route, entry, i, context, req, result, customerId);
    if (own === null) return;
    deltas.push(own === undefined ? { reason: entry.reason, delta: delta as number } : { reason: entry.reason, delta: delta as number, metadata: own });
  });
  if (deltas.length === 0) return undefined;
  const answers = enqueueUsage(meter, { customerId: customerId as string, requestId, deltas, metadata });
  const committed = answers.flatMap((answer) => ('committed' in answer && answer.committed !== undefined ? [answer.committed] : []));
  return committed.length === 0 ? undefined : Promise.all(committed).then((all) => all.every(Boolean));
}

/** One meter's delta; `undefined` when its resolver failed (then it is refused). */
function resolveDelta(billing: MeterBilling, route: RouteMetering, entry: RouteMeter, i: number, context: ExecutionContext, req: unknown, result: unknown, customerId: unknown): unknown {
  if (typeof entry.delta !== 'function') return entry.delta;
  const field = `meters[${i}].delta`;
  let delta: unknown;
  try {
    delta = entry.delta(req, result, context);
  } catch (err) {
    return billing.refuse({ ...route, reason: entry.reason }, field, err, customerId);
  }
  const refused = thenableError(delta, field);
  return refused === undefined ? delta : billing.refuse({ ...route, reason: entry.reason }, field, refused, customerId);
}

/** One meter's own metadata; `null` when its function failed (then it is refused). */
function resolveMetadata(billing: MeterBilling, route: RouteMetering, entry: RouteMeter, i: number, context: ExecutionContext, req: unknown, result: unknown, customerId: unknown): Record<string, unknown> | undefined | null {
  if (typeof entry.metadata !== 'function') return entry.metadata;
  const field = `meters[${i}].metadata`;
  try {
    const value = entry.metadata(req, result, context);
    const refused = thenableError(value, field);
    if (refused !== undefined) throw refused;
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) throw new TypeError('returned something other than a plain object');
    return value;
  } catch (err) {
    billing.refuse({ ...route, reason: entry.reason }, field, err, customerId);
    return null;
  }
}
