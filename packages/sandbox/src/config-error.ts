/**
 * Thrown for a bad option or fault setting. It is a TypeError (the value has the wrong shape) and
 * carries the dotted path of the offending setting, so the HTTP fault route can name it too.
 *
 * @example
 * try { await startSandbox({ port: -1 }); } catch (e) { if (e instanceof SandboxConfigError) console.log(e.field); }
 */
export class SandboxConfigError extends TypeError {
  /** Dotted path of the bad setting, e.g. `faults.rateLimit.retryAfterSeconds`. */
  readonly field: string;

  constructor(field: string, allowed: string, got: unknown) {
    super(`${field} must be ${allowed} (got ${describe(got)})`);
    this.name = 'SandboxConfigError';
    this.field = field;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Small checks shared by option and fault validation. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Rejects keys the caller did not mean (usually typos), naming them. */
export function rejectUnknownKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new SandboxConfigError(`${path}.${key}`, `one of the known settings (${allowed.join(', ')})`, key);
    }
  }
}
