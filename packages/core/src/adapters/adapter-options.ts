import { MeteringConfigError } from '../errors.js';
import { assertKnownOptions } from '../options.js';

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/**
 * The options a framework package was given, checked: an object (else a {@link MeteringConfigError}
 * naming `options`, with `example` as the fix), of `known` names only, without its `undefined`
 * values (so `{ delta: undefined }` means the default). Never changes `options`.
 *
 * @example
 * const given = definedOptions(options, MIDDLEWARE_OPTION_NAMES, '{ customerId: (req) => req.user.accountId }');
 */
export function definedOptions(options: unknown, known: readonly string[], example: string): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new MeteringConfigError('options', `must be an object with at least customerId, e.g. ${example}`);
  }
  const given: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) if (value !== undefined) given[name] = value;
  assertKnownOptions(given, known, '');
  return given;
}

/**
 * `given[name]` when it is a function or absent; else a {@link MeteringConfigError} naming it.
 *
 * @example
 * const skip = optionalFunctionOption(given, 'skip') as ((req: Request) => boolean) | undefined;
 */
export function optionalFunctionOption(given: Record<string, unknown>, name: string): unknown {
  const value = given[name];
  if (value !== undefined && typeof value !== 'function') throw new MeteringConfigError(name, `must be a function (got ${describeOptionValue(value)})`);
  return value;
}

/**
 * A header-name option (`requestIdHeader`, `responseHeader`): the name, `undefined` for `false`,
 * `fallback` when not given; else a {@link MeteringConfigError} naming `option`.
 *
 * @example
 * headerNameOption(undefined, 'responseHeader', 'x-request-id'); // 'x-request-id'
 * headerNameOption(false, 'responseHeader', 'x-request-id'); // undefined
 */
export function headerNameOption(value: unknown, option: string, fallback: string | false): string | undefined {
  const chosen = value === undefined ? fallback : value;
  if (chosen === false) return undefined;
  if (typeof chosen !== 'string' || !HEADER_NAME.test(chosen)) {
    throw new MeteringConfigError(option, `must be an HTTP header name such as 'x-request-id', or false (got ${describeOptionValue(chosen)})`);
  }
  return chosen;
}

/**
 * A short, log-safe description of an option value for an error message: never the value itself
 * when it is long (it may be a secret pasted in the wrong place).
 *
 * @example
 * describeOptionValue('x'.repeat(60)); // 'a string of 60 characters'
 * describeOptionValue(() => 1); // 'function'
 */
export function describeOptionValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
