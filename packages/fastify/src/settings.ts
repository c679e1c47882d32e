import { DeltaValidationError, MeteringConfigError, assertDelta, assertKnownOptions, assertReason, describeOptionValue as kind, headerNameOption as headerOf, type Meter } from '@pacspace-metering/core';
import { PLUGIN_OPTION_NAMES, ROUTE_OPTION_NAMES } from './options.js';

/** A resolver as the plugin calls it: Fastify's request and reply, loosely typed inside. */
export type Resolver = (request: any, reply: any) => unknown;

/** How one route is billed: the plugin's options with the route's own over them. */
export interface RouteSettings {
  customerId: Resolver;
  delta: number | Resolver;
  reason: string | Resolver;
  /** Several deltas per call, or undefined for one. */
  deltas: Resolver | undefined;
  metadata: Resolver | undefined;
  isSuccess: Resolver | undefined;
}

/** The plugin's options, checked, with defaults applied; read once per registration. */
export interface PluginSettings {
  meter: Meter;
  defaults: RouteSettings;
  skip: ((request: any) => unknown) | undefined;
  requestId: ((request: any) => unknown) | undefined;
  trustUpstreamId: boolean;
  /** Lower-cased header name, or undefined when no header is trusted. */
  requestIdHeader: string | undefined;
  /** Header name, or undefined when the id is not echoed. */
  responseHeader: string | undefined;
}


/**
 * Checks the plugin's options and applies defaults. Throws {@link MeteringConfigError} naming the
 * first bad option. Never mutates `options`.
 */
export function resolvePluginSettings(options: unknown): PluginSettings {
  const given = definedFields(options, 'options', 'an object with at least meter and customerId, e.g. { meter, customerId: (request) => request.user.accountId }');
  assertKnownOptions(given, PLUGIN_OPTION_NAMES, '');
  const meter = given.meter as Partial<Meter> | undefined;
  if (meter === null || typeof meter !== 'object' || typeof meter.enqueue !== 'function' || typeof meter.emit !== 'function' || typeof meter.scope !== 'string') {
    throw new MeteringConfigError('meter', `is required: a Meter from createMeter() (with scope, enqueue and emit) (got ${kind(meter)})`);
  }
  if (typeof given.customerId !== 'function') {
    throw new MeteringConfigError('customerId', `is required: a function (request, reply) => string that names who pays (got ${kind(given.customerId)})`);
  }
  exclusiveDeltas(given, '');
  return {
    meter: meter as Meter,
    defaults: {
      deltas: functionOf(given.deltas, 'deltas'),
      customerId: given.customerId as Resolver,
      delta: deltaOf(given.delta, 'delta', -1),
      reason: reasonOf(given.reason, 'reason', 'api_request'),
      metadata: functionOf(given.metadata, 'metadata'),
      isSuccess: functionOf(given.isSuccess, 'isSuccess'),
    },
    skip: functionOf(given.skip, 'skip'),
    requestId: functionOf(given.requestId, 'requestId'),
    trustUpstreamId: booleanOf(given.trustUpstreamId, 'trustUpstreamId'),
    requestIdHeader: headerOf(given.requestIdHeader, 'requestIdHeader', false)?.toLowerCase(),
    responseHeader: headerOf(given.responseHeader, 'responseHeader', false),
  };
}

/**
 * A route's settings: its `config.metering` fields over `defaults`. Throws
 * {@link MeteringConfigError} naming `config.metering.<field>` and the route (`where`).
 */
export function compileRoute(defaults: RouteSettings, metering: unknown, where: string): RouteSettings {
  const prefix = 'config.metering.';
  const given = definedFields(metering, 'config.metering', `an object of ${ROUTE_OPTION_NAMES.join(', ')}, or false (route ${where})`);
  try {
    assertKnownOptions(given, ROUTE_OPTION_NAMES, prefix);
    exclusiveDeltas(given, prefix);
    const single = given.delta !== undefined || given.reason !== undefined;
    return {
      deltas: functionOf(given.deltas, `${prefix}deltas`) ?? (single ? undefined : defaults.deltas),
      customerId: functionOf(given.customerId, `${prefix}customerId`) ?? defaults.customerId,
      delta: given.delta === undefined ? defaults.delta : deltaOf(given.delta, `${prefix}delta`, -1),
      reason: given.reason === undefined ? defaults.reason : reasonOf(given.reason, `${prefix}reason`, 'api_request'),
      metadata: functionOf(given.metadata, `${prefix}metadata`) ?? defaults.metadata,
      isSuccess: functionOf(given.isSuccess, `${prefix}isSuccess`) ?? defaults.isSuccess,
    };
  } catch (err) {
    if (!(err instanceof MeteringConfigError)) throw err;
    // "config.metering.delta: must be ..." -> "... (route GET /v1/reports/:id)"
    throw new MeteringConfigError(err.option, `${err.message.slice(err.option.length + 2)} (route ${where})`);
  }
}

/** `deltas` replaces `delta` and `reason`: giving both is a mistake, named. */
function exclusiveDeltas(given: Record<string, unknown>, prefix: string): void {
  if (given.deltas !== undefined && (given.delta !== undefined || given.reason !== undefined)) {
    throw new MeteringConfigError(`${prefix}deltas`, `cannot be combined with ${given.delta !== undefined ? 'delta' : 'reason'}: give each delta its reason in the list`);
  }
}

/** The fields of an options object whose value is not `undefined`. */
function definedFields(value: unknown, name: string, expected: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MeteringConfigError(name, `must be ${expected} (got ${kind(value)})`);
  const fields: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(value)) if (v !== undefined) fields[field] = v;
  return fields;
}

function deltaOf(value: unknown, name: string, fallback: number): number | Resolver {
  return valueOrResolver(value, name, fallback, assertDelta, 'or a function (request, reply) => number');
}

function reasonOf(value: unknown, name: string, fallback: string): string | Resolver {
  return valueOrResolver(value, name, fallback, assertReason, 'or a function (request, reply) => string');
}

/** A fixed value that core's `check` accepts, a resolver, or `fallback` when absent. */
function valueOrResolver<T>(value: unknown, name: string, fallback: T, check: (value: unknown, field: string) => void, alternative: string): T | Resolver {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return value as Resolver;
  try {
    check(value, name);
  } catch (err) {
    throw asConfigError(err, name, alternative);
  }
  return value as T;
}

function functionOf<F>(value: unknown, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new MeteringConfigError(name, `must be a function (got ${kind(value)})`);
  return value as F | undefined;
}

function booleanOf(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new MeteringConfigError(name, `must be true or false (got ${kind(value)})`);
  return value === true;
}

/** A validation error of core ("delta: must be ...") as a config error with the alternative added. */
function asConfigError(err: unknown, name: string, alternative: string): MeteringConfigError {
  if (!(err instanceof DeltaValidationError)) return new MeteringConfigError(name, String(err));
  return new MeteringConfigError(name, `${err.message.slice(err.field.length + 2)}, ${alternative}`);
}

