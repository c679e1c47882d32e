import { METER_OPTION_NAMES, MeteringConfigError, assertKnownOptions, isDeltaWithinLimits, isMeter, isReasonWithinLimits, type Meter, type MeterOptions } from '@pacspace-metering/core';
import { DEFAULT_DELTA, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './metering.constants.js';
import { describeValue, messages } from './metering.messages.js';
import { checkBalanceOptions, type ResolvedBalanceOptions } from '../balance/balance.options.js';
import type { AggregatingMeterOptions } from '@pacspace-metering/core';
import type { CustomerIdResolver, MeteringModuleOptions, MeteringPeriodicOptions, RequestDeltaResolver, RequestMetadataResolver } from './metering-options.interface.js';

/** Every Nest-specific option name; `satisfies` keeps the list complete as the interface grows. */
const NEST_OPTIONS = {
  meter: true,
  customerId: true,
  reason: true,
  delta: true,
  metadata: true,
  isSuccess: true,
  meterOptionsRequests: true,
  requestId: true,
  trustUpstreamId: true,
  requestIdHeader: true,
  responseHeader: true,
  shutdownTimeoutMs: true,
  verifyCredentials: true,
  periodic: true,
  aggregate: true,
  balance: true,
} satisfies Record<Exclude<keyof MeteringModuleOptions, keyof MeterOptions>, true>;

const NEST_OPTION_NAMES = Object.keys(NEST_OPTIONS) as Array<keyof typeof NEST_OPTIONS>;
const ALL_OPTION_NAMES: readonly string[] = [...METER_OPTION_NAMES, ...NEST_OPTION_NAMES];

/** RFC 9110 token: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/** @internal Module options, checked, with defaults applied. */
export interface ResolvedMeteringOptions {
  /** What to pass to `createMeter`, when no `meter` was given. */
  meterOptions: MeterOptions | undefined;
  meter: Meter | undefined;
  customerId: CustomerIdResolver | undefined;
  reason: string | undefined;
  delta: number | RequestDeltaResolver;
  metadata: Record<string, unknown> | RequestMetadataResolver | undefined;
  isSuccess: ((req: any, res: any) => boolean) | undefined;
  meterOptionsRequests: boolean;
  requestId: ((req: any) => unknown) | undefined;
  trustUpstreamId: boolean;
  /** Lower-cased. */
  requestIdHeader: string | undefined;
  responseHeader: string | undefined;
  shutdownTimeoutMs: number;
  verifyCredentials: boolean;
  /** The periodic jobs, as given (checked when created). */
  periodic: MeteringPeriodicOptions[];
  aggregate: Omit<AggregatingMeterOptions, 'closeMeter'> | undefined;
  /** The balance gate's options and the gated routes' defaults (`balance`), or undefined. */
  balance: ResolvedBalanceOptions | undefined;
}

/**
 * Checks the module options and applies defaults, without creating anything. Throws
 * {@link MeteringConfigError} naming the first bad option. `undefined` values count as absent,
 * so `apiKey: process.env.MISSING` falls back to the default. The caller's object is not mutated.
 *
 * @example
 * resolveMeteringOptions({ delta: 0 }); // throws MeteringConfigError: "delta: must be a finite, non-zero number ..."
 */
export function resolveMeteringOptions(input: MeteringModuleOptions | undefined): ResolvedMeteringOptions {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new MeteringConfigError('options', messages.notAnObject(describeValue(input)));
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) if (value !== undefined) options[name] = value;
  assertKnownOptions(options, ALL_OPTION_NAMES, '');

  const meterOptions: Record<string, unknown> = {};
  for (const name of METER_OPTION_NAMES) if (name in options) meterOptions[name] = options[name];

  let meter: Meter | undefined;
  if ('meter' in options) {
    meter = options.meter as Meter;
    if (!isMeter(meter)) throw new MeteringConfigError('meter', messages.meterShape());
    const given = Object.keys(meterOptions);
    if (given.length > 0) throw new MeteringConfigError('meter', messages.meterWithMeterOptions(given));
  }

  for (const name of ['customerId', 'isSuccess', 'requestId'] as const) {
    if (name in options && typeof options[name] !== 'function') throw new MeteringConfigError(name, messages.notAFunction());
  }
  const reason = options.reason === undefined ? undefined : checkReason(options.reason, (detail) => new MeteringConfigError('reason', detail));
  const delta = options.delta === undefined ? DEFAULT_DELTA : checkDelta<RequestDeltaResolver>(options.delta, (detail) => new MeteringConfigError('delta', detail));
  const metadata = options.metadata === undefined ? undefined : checkMetadata<RequestMetadataResolver>(options.metadata, (detail) => new MeteringConfigError('metadata', detail));

  let requestIdHeader: string | undefined;
  if ('requestIdHeader' in options) {
    const header = options.requestIdHeader;
    if (typeof header !== 'string' || !HEADER_NAME.test(header)) throw new MeteringConfigError('requestIdHeader', messages.headerName(describeValue(header)));
    requestIdHeader = header.toLowerCase();
  }
  // Off unless named: see DEFAULT_RESPONSE_HEADER for why.
  let responseHeader: string | undefined;
  if ('responseHeader' in options) {
    const header = options.responseHeader;
    if (header === false) responseHeader = undefined;
    else if (typeof header !== 'string' || !HEADER_NAME.test(header)) throw new MeteringConfigError('responseHeader', messages.responseHeader(describeValue(header)));
    else responseHeader = header.toLowerCase();
  }
  let shutdownTimeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if ('shutdownTimeoutMs' in options) {
    const value = options.shutdownTimeoutMs;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MeteringConfigError('shutdownTimeoutMs', messages.timeout(describeValue(value)));
    shutdownTimeoutMs = value;
  }
  const periodic = checkPeriodic(options.periodic);
  let aggregate: ResolvedMeteringOptions['aggregate'];
  if ('aggregate' in options) {
    const value = options.aggregate;
    if (value === true) aggregate = {};
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) aggregate = value as ResolvedMeteringOptions['aggregate'];
    else throw new MeteringConfigError('aggregate', messages.aggregateValue(describeValue(value)));
  }
  if (reason !== undefined && options.customerId === undefined) throw new MeteringConfigError('customerId', messages.reasonRequiresCustomer());

  return {
    meterOptions: meter ? undefined : (meterOptions as MeterOptions),
    meter,
    customerId: options.customerId as CustomerIdResolver | undefined,
    reason,
    delta,
    metadata,
    isSuccess: options.isSuccess as ResolvedMeteringOptions['isSuccess'],
    meterOptionsRequests: booleanOption(options, 'meterOptionsRequests'),
    requestId: options.requestId as ResolvedMeteringOptions['requestId'],
    trustUpstreamId: booleanOption(options, 'trustUpstreamId'),
    requestIdHeader,
    responseHeader,
    shutdownTimeoutMs,
    verifyCredentials: booleanOption(options, 'verifyCredentials'),
    periodic,
    aggregate,
    balance: checkBalanceOptions(options.balance),
  };
}

/** A true/false option, `false` when absent. */
function booleanOption(options: Record<string, unknown>, name: 'meterOptionsRequests' | 'trustUpstreamId' | 'verifyCredentials'): boolean {
  const value = options[name] ?? false;
  if (typeof value !== 'boolean') throw new MeteringConfigError(name, messages.notABoolean(describeValue(value)));
  return value;
}

/** One job or a list of them; each an object with `collect` and a `name` of its own. */
function checkPeriodic(value: unknown): MeteringPeriodicOptions[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  const names = new Set<string>();
  list.forEach((job: unknown, i) => {
    const field = Array.isArray(value) ? `periodic[${i}]` : 'periodic';
    if (job === null || typeof job !== 'object' || Array.isArray(job)) throw new MeteringConfigError(field, messages.periodicValue(describeValue(job)));
    const { name = 'periodic', start } = job as MeteringPeriodicOptions;
    if (start !== undefined && typeof start !== 'boolean') throw new MeteringConfigError(`${field}.start`, messages.notABoolean(describeValue(start)));
    if (names.has(name)) throw new MeteringConfigError(`${field}.name`, messages.periodicName(String(name)));
    names.add(name);
  });
  return list as MeteringPeriodicOptions[];
}

/** @internal Checks a reason (module or route); `fail` builds the error to throw. */
export function checkReason(value: unknown, fail: (detail: string) => Error): string {
  // Core's limits (DELTA_LIMITS), so a route is refused at start-up by the rule the Meter applies.
  if (!isReasonWithinLimits(value)) throw fail(messages.reasonValue(describeValue(value)));
  return value;
}

/** @internal Checks a delta (module or route): a valid number, or a function. */
export function checkDelta<F extends Function>(value: unknown, fail: (detail: string) => Error): number | F {
  if (typeof value === 'function') return value as F;
  if (!isDeltaWithinLimits(value)) throw fail(messages.deltaValue(describeValue(value)));
  return value;
}

/** @internal Checks metadata (module or route): a plain object, or a function. */
export function checkMetadata<F extends Function>(value: unknown, fail: (detail: string) => Error): Record<string, unknown> | F {
  if (typeof value === 'function') return value as F;
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) throw fail(messages.metadataValue(describeValue(value)));
  return value as Record<string, unknown>;
}
