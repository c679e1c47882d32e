/**
 * Every user-facing text of this package, in one place. Configuration messages are passed to
 * `MeteringConfigError(option, message)`, which prefixes the option's name.
 */

const FORROOT = 'MeteringModule.forRoot()';

/** @internal */
export const messages = {
  notAnObject: (got: string) => `must be an object of MeteringModule options (got ${got})`,
  notAFunction: () => 'must be a function',
  notABoolean: (got: string) => `must be true or false (got ${got})`,
  meterShape: () => 'must be a Meter from createMeter() (with enqueue, flush and close)',
  meterWithMeterOptions: (names: string[]) =>
    `cannot be combined with createMeter options (${names.join(', ')}); configure the Meter where you create it, or drop \`meter\``,
  headerName: (got: string) => `must be an HTTP header name such as 'x-request-id' (got ${got})`,
  responseHeader: (got: string) => `must be an HTTP header name such as 'x-request-id', or false (got ${got})`,
  deltaValue: (got: string) => `must be a finite, non-zero number between -1e9 and 1e9, or a function (req, result) => number (got ${got})`,
  reasonValue: (got: string) => `must be a non-empty string of at most 500 characters (got ${got})`,
  metadataValue: (got: string) => `must be a plain object or a function (req, result) => object (got ${got})`,
  timeout: (got: string) => `must be a non-negative integer number of milliseconds (got ${got})`,
  aggregateValue: (got: string) => `must be true or an object of createAggregatingMeter options such as { interval: '1m' } (got ${got})`,
  periodicValue: (got: string) => `must be an object of createPeriodicMeter options with collect, or an array of them (got ${got})`,
  periodicName: (name: string) => `'${name}' is used by two periodic jobs; give each job its own name (its state file and referenceIds depend on it)`,
  periodicMissing: (name: string) => `no periodic job named '${name}': add it to \`periodic\` in ${FORROOT}`,
  reasonRequiresCustomer: () =>
    `is required when \`reason\` is set in ${FORROOT}: every route the global MeteringInterceptor meters needs someone to bill`,

  meteredArgument: (where: string, got: string) => `@Metered() on ${where} takes a reason string, an options object or a list of meters (got ${got})`,
  meteredUnknown: (where: string, name: string) => `@Metered() on ${where}: '${name}' is not an option; allowed: reason, delta, customerId, metadata, meters, units`,
  routeField: (where: string, detail: string) => `@Metered() on ${where}: ${detail}`,
  routeNoReason: (where: string) => `@Metered() on ${where} has no reason: pass @Metered('reason') or set \`reason\` in ${FORROOT}`,
  routeNoCustomer: (where: string) => `@Metered() on ${where} has no customerId resolver: set \`customerId\` in ${FORROOT} or in @Metered({ customerId })`,
  runtimeMissing: () =>
    `MeteringInterceptor needs ${FORROOT} (or forRootAsync()) to be imported; import it in the application's root module with isGlobal: true, or in the module that uses @Metered()`,
  resolverFailed: (where: string, field: string, err: string) =>
    `${field} resolver for ${where} failed (${err}); the delta was refused. Further failures on this route are counted in meter.stats().dropped without a log line.`,
  routeConfigInvalid: (where: string, err: string) => `metering is off for ${where}: ${err}`,
} as const;

/** @internal A short, log-safe description of a value: never the value itself when it is long or an object. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? `an instance of ${(value as object).constructor?.name ?? 'Object'}` : typeof value;
}
