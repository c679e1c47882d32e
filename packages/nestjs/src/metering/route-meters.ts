import { MeteringConfigError } from '@pacspace-metering/core';
import { describeValue, messages } from '../module/metering.messages.js';
import { checkDelta, checkMetadata, checkReason } from '../module/metering.options.js';
import type { DeltaResolver, MetadataResolver, UnitsResolver } from '../module/resolver.types.js';

/** @internal One of a route's several meters, checked. */
export interface RouteMeter {
  reason: string;
  delta: number | DeltaResolver;
  metadata: Record<string, unknown> | MetadataResolver | undefined;
  /** Stream routes: this meter's units in one event or chunk. */
  units: UnitsResolver | undefined;
}

const ENTRY_KEYS = ['reason', 'delta', 'metadata', 'units'];

/**
 * @internal Checks `@Metered`'s `meters` (several meters per call): a non-empty list of
 * `{ reason, delta?, metadata? }` with distinct reasons (each is billed under its own referenceId).
 * `defaultDelta` is the module's delta in the route's shape. Throws {@link MeteringConfigError}
 * naming `meters[i].field` and the route.
 */
export function compileMeters(value: unknown, defaultDelta: number | DeltaResolver, where: string): RouteMeter[] {
  const fail = (field: string) => (detail: string) => new MeteringConfigError(field, messages.routeField(where, detail));
  if (!Array.isArray(value) || value.length === 0) throw fail('meters')(`must be a non-empty array of { reason, delta?, metadata? } (got ${describeValue(value)})`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const field = `meters[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw fail(field)(`must be an object { reason, delta?, metadata? } (got ${describeValue(entry)})`);
    const options = entry as Record<string, unknown>;
    for (const name of Object.keys(options)) if (!ENTRY_KEYS.includes(name)) throw fail(`${field}.${name}`)(`is not an option of a meter (use ${ENTRY_KEYS.join(', ')})`);
    const reason = checkReason(options.reason, fail(`${field}.reason`));
    if (seen.has(reason)) throw fail(`${field}.reason`)(`'${reason}' is repeated: each reason is billed once per call, under its own referenceId`);
    seen.add(reason);
    const delta = options.delta === undefined ? defaultDelta : checkDelta<DeltaResolver>(options.delta, fail(`${field}.delta`));
    const metadata = options.metadata === undefined ? undefined : checkMetadata<MetadataResolver>(options.metadata, fail(`${field}.metadata`));
    if (options.units !== undefined && typeof options.units !== 'function') throw fail(`${field}.units`)(messages.notAFunction());
    return { reason, delta, metadata, units: options.units as UnitsResolver | undefined };
  });
}

/** @internal True when a meter of the list is a function of the handler's value. */
export function metersNeedResult(meters: unknown): boolean {
  return Array.isArray(meters) && meters.some((entry) => typeof entry?.delta === 'function' || typeof entry?.metadata === 'function' || entry?.units !== undefined);
}
