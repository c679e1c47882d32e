import type { Reflector } from '@nestjs/core';
import { MeteringConfigError } from '@pacspace-metering/core';
import { METERED_METADATA, NEST_SSE_METADATA, SKIP_METERING_METADATA } from '../module/metering.constants.js';
import { describeValue, messages } from '../module/metering.messages.js';
import { checkDelta, checkMetadata, checkReason, type ResolvedMeteringOptions } from '../module/metering.options.js';
import { compileMeters, metersNeedResult, type RouteMeter } from './route-meters.js';
import type { CustomerIdResolver, DeltaResolver, MeteredOptions, MetadataResolver, RequestDeltaResolver, RequestMetadataResolver, UnitsResolver } from '../module/metering-options.interface.js';

/** @internal How one handler is metered, compiled once and cached per handler. */
export interface RouteMetering {
  /** `Controller.method`, for messages. */
  where: string;
  reason: string;
  delta: number | DeltaResolver;
  customerId: CustomerIdResolver;
  /** Module metadata, then route metadata over it. */
  moduleMetadata: Record<string, unknown> | RequestMetadataResolver | undefined;
  routeMetadata: Record<string, unknown> | MetadataResolver | undefined;
  /** Several meters per call (`@Metered([...])`): then `reason`/`delta` are the first one's. */
  meters: readonly RouteMeter[] | undefined;
  /**
   * A stream route (`@Sse()`, or `units` given): billed by the units of what it sent, per reason,
   * once when the response closes; `delta` (a number) is the amount per unit.
   */
  stream: boolean;
  /** Stream routes: the units of one event or chunk (single meter). */
  units: UnitsResolver | undefined;
  /** True when the handler reads `@BillingRequestId()`: the id is recorded for it. */
  exposesRequestId?: boolean;
  /** True when a route resolver needs the handler's value, so it has to be observed. */
  needsResult: boolean;
  /** Where the settings came from: an explicit `@Metered` (method or class), or the module default. */
  source: MeteringSource;
}

/** @internal Where a handler's metering comes from. */
export type MeteringSource = 'method' | 'class' | 'module';

const METERED_KEYS = ['reason', 'delta', 'customerId', 'metadata', 'meters', 'units'];

/**
 * @internal Picks the `@Metered` options that apply to a handler: the method's own (a method's
 * `@SkipMetering()` wins over everything), else the class's (unless the class skips), else the
 * module default when it has a reason. `null` means "not metered".
 */
export function selectMetered(
  reflector: Reflector,
  handler: Function,
  cls: Function,
  moduleReason: string | undefined,
): { options: MeteredOptions; source: MeteringSource } | null {
  if (reflector.get<boolean | undefined>(SKIP_METERING_METADATA, handler)) return null;
  const own = reflector.get<MeteredOptions | undefined>(METERED_METADATA, handler);
  if (own !== undefined) return { options: own, source: 'method' };
  if (reflector.get<boolean | undefined>(SKIP_METERING_METADATA, cls)) return null;
  const inherited = reflector.get<MeteredOptions | undefined>(METERED_METADATA, cls);
  if (inherited !== undefined) return { options: inherited, source: 'class' };
  return moduleReason === undefined ? null : { options: {}, source: 'module' };
}

/** @internal True for `@Sse()` handlers. */
export function isSseHandler(reflector: Reflector, handler: Function): boolean {
  return !!reflector.get(NEST_SSE_METADATA, handler);
}

/**
 * @internal Turns `@Metered` options plus the module defaults into a {@link RouteMetering}; throws
 * {@link MeteringConfigError} naming the field and the route when something cannot work.
 */
export function compileRoute(defaults: ResolvedMeteringOptions, metered: unknown, where: string, source: MeteringSource, sse = false): RouteMetering {
  // `@Metered([...])` is the short form of `@Metered({ meters: [...] })`.
  if (Array.isArray(metered)) metered = { meters: metered };
  if (metered === null || typeof metered !== 'object') {
    throw new MeteringConfigError('metered', messages.meteredArgument(where, describeValue(metered)));
  }
  const options = metered as Record<string, unknown>;
  for (const name of Object.keys(options)) {
    if (!METERED_KEYS.includes(name)) throw new MeteringConfigError(name, messages.meteredUnknown(where, name));
  }
  const fail = (field: string) => (detail: string) => new MeteringConfigError(field, messages.routeField(where, detail));
  let meters: RouteMeter[] | undefined;
  if (options.meters !== undefined) {
    if (options.reason !== undefined || options.delta !== undefined) throw fail('meters')('cannot be combined with reason/delta: give each meter its own reason and delta');
    meters = compileMeters(options.meters, fromModule(defaults.delta), where);
  }
  const reason = meters?.[0]?.reason ?? (options.reason === undefined ? defaults.reason : checkReason(options.reason, fail('reason')));
  if (reason === undefined) throw new MeteringConfigError('reason', messages.routeNoReason(where));
  const delta = meters?.[0]?.delta ?? (options.delta === undefined ? fromModule(defaults.delta) : checkDelta<DeltaResolver>(options.delta, fail('delta')));
  if (options.customerId !== undefined && typeof options.customerId !== 'function') throw fail('customerId')(messages.notAFunction());
  const customerId = (options.customerId as CustomerIdResolver | undefined) ?? defaults.customerId;
  if (customerId === undefined) throw new MeteringConfigError('customerId', messages.routeNoCustomer(where));
  const routeMetadata = options.metadata === undefined ? undefined : checkMetadata<MetadataResolver>(options.metadata, fail('metadata'));
  if (options.units !== undefined && typeof options.units !== 'function') throw fail('units')(messages.notAFunction());
  const units = options.units as UnitsResolver | undefined;
  const stream = sse || units !== undefined || (meters?.some((meter) => meter.units !== undefined) ?? false);
  if (stream) assertPerUnitDeltas(meters ?? [{ delta }], fail);
  return { where, reason, delta, customerId, moduleMetadata: defaults.metadata, routeMetadata, meters, stream, units, needsResult: routeNeedsResult(options), source };
}

/**
 * @internal True when `@Metered` options contain a function of the handler's value (`delta` or
 * `metadata`). Decided from the decorator's own options only, so the decorator knows it too.
 */
export function routeNeedsResult(options: unknown): boolean {
  if (Array.isArray(options)) return metersNeedResult(options);
  const metered = options as MeteredOptions | null | undefined;
  return typeof metered?.delta === 'function' || typeof metered?.metadata === 'function' || metered?.units !== undefined || metersNeedResult(metered?.meters);
}

/**
 * On a stream route `delta` is the amount per unit: a number, not a function of the handler's
 * value. (With the module's delta a function, a stream route must give its own.)
 */
function assertPerUnitDeltas(meters: ReadonlyArray<{ delta: unknown }>, fail: (field: string) => (detail: string) => Error): void {
  meters.forEach(({ delta }, i) => {
    if (typeof delta !== 'number') throw fail(meters.length > 1 ? `meters[${i}].delta` : 'delta')('on a stream route (@Sse(), or with units) must be a number: the amount per unit (default -1)');
  });
}

/** The module's request-only delta, in the route's `(req, result, context)` shape. */
function fromModule(delta: number | RequestDeltaResolver): number | DeltaResolver {
  return typeof delta === 'function' ? (req, _result, context) => delta(req, context) : delta;
}

/** @internal `Controller.method` for messages. */
export function describeHandler(cls: Function, handler: Function): string {
  return `${cls.name || 'AnonymousController'}.${handler.name || 'anonymous'}`;
}
