import { SandboxConfigError, isNonNegativeInteger, isPlainObject, rejectUnknownKeys } from './config-error.js';
import type { BatchRejectionFault, FaultConfig, FaultTrigger, ItemFailuresFault, LatencySpec, ServerErrorFault, VerificationFailureFault } from './faults.js';
import { validateDeriveFault } from './read-faults.js';
import { CUSTOMER_ID_PATTERN } from './validation.js';

const MAX_LATENCY_MS = 600_000;
const FAULT_NAMES = ['latencyMs', 'serverError', 'rateLimit', 'cadenceLimit', 'resetBeforeProcessing', 'commitThenDrop', 'itemFailures', 'batchRejection', 'verificationFailure', 'derive'];
/** An error code as a client would match it: short, no spaces. */
const CODE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Checks a FaultConfig and returns a private copy, throwing SandboxConfigError (a TypeError) that
 * names the bad field.
 *
 * @example
 * validateFaults({ rateLimit: { rate: 0.1, retryAfterSeconds: 1 } }); // ok
 * validateFaults({ rateLimit: { rate: 2 } }); // throws: faults.rateLimit.rate must be a number from 0 to 1
 */
export function validateFaults(input: unknown, path = 'faults'): FaultConfig {
  if (input === undefined || input === null) return {};
  if (!isPlainObject(input)) throw new SandboxConfigError(path, 'an object', input);
  rejectUnknownKeys(input, FAULT_NAMES, path);
  const out: FaultConfig = {};
  if (input.latencyMs !== undefined) out.latencyMs = validateLatency(input.latencyMs, `${path}.latencyMs`);

  if (input.serverError !== undefined) {
    const f = faultObject(input.serverError, `${path}.serverError`, ['statuses', 'retryAfterSeconds']);
    const fault: ServerErrorFault = trigger(f, `${path}.serverError`, true);
    if (f.statuses !== undefined) {
      const s = f.statuses;
      if (!Array.isArray(s) || s.length === 0 || !s.every((x) => Number.isInteger(x) && x >= 500 && x <= 599)) {
        throw new SandboxConfigError(`${path}.serverError.statuses`, 'a non-empty array of integers from 500 to 599', s);
      }
      fault.statuses = [...(s as number[])];
    }
    if (f.retryAfterSeconds !== undefined) fault.retryAfterSeconds = retryAfter(f.retryAfterSeconds, `${path}.serverError.retryAfterSeconds`);
    out.serverError = fault;
  }
  if (input.rateLimit !== undefined) {
    const f = faultObject(input.rateLimit, `${path}.rateLimit`, ['retryAfterSeconds']);
    out.rateLimit = { ...trigger(f, `${path}.rateLimit`, true), retryAfterSeconds: retryAfter(f.retryAfterSeconds, `${path}.rateLimit.retryAfterSeconds`) };
  }
  if (input.cadenceLimit !== undefined) {
    const f = faultObject(input.cadenceLimit, `${path}.cadenceLimit`, ['customerId', 'retryAfterSeconds']);
    out.cadenceLimit = {
      ...trigger(f, `${path}.cadenceLimit`, false),
      customerId: customerIdSetting(f.customerId, `${path}.cadenceLimit.customerId`),
      retryAfterSeconds: retryAfter(f.retryAfterSeconds, `${path}.cadenceLimit.retryAfterSeconds`),
    };
  }
  for (const name of ['resetBeforeProcessing', 'commitThenDrop'] as const) {
    if (input[name] !== undefined) out[name] = trigger(faultObject(input[name], `${path}.${name}`, []), `${path}.${name}`, true);
  }
  if (input.itemFailures !== undefined) out.itemFailures = validateItemFailures(input.itemFailures, `${path}.itemFailures`);
  if (input.batchRejection !== undefined) out.batchRejection = validateBatchRejection(input.batchRejection, `${path}.batchRejection`);
  if (input.verificationFailure !== undefined) out.verificationFailure = validateVerificationFailure(input.verificationFailure, `${path}.verificationFailure`);
  if (input.derive !== undefined) out.derive = validateDeriveFault(input.derive, `${path}.derive`);
  return out;
}

function validateVerificationFailure(value: unknown, path: string): VerificationFailureFault {
  if (!isPlainObject(value)) throw new SandboxConfigError(path, 'an object with rate or customerIds', value);
  rejectUnknownKeys(value, ['rate', 'customerIds', 'code'], path);
  const out: VerificationFailureFault = {};
  if (value.rate !== undefined) out.rate = rateSetting(value.rate, `${path}.rate`);
  if (value.customerIds !== undefined) out.customerIds = customerIdList(value.customerIds, `${path}.customerIds`);
  if (out.rate === undefined && out.customerIds === undefined) throw new SandboxConfigError(path, 'given rate or customerIds', value);
  if (value.code !== undefined) out.code = codeSetting(value.code, `${path}.code`);
  return out;
}

function validateItemFailures(value: unknown, path: string): ItemFailuresFault {
  if (!isPlainObject(value)) throw new SandboxConfigError(path, 'an object with rate or customerIds', value);
  rejectUnknownKeys(value, ['rate', 'customerIds', 'codes', 'retryAfterSeconds'], path);
  const out: ItemFailuresFault = {};
  if (value.rate !== undefined) out.rate = rateSetting(value.rate, `${path}.rate`);
  if (value.customerIds !== undefined) out.customerIds = customerIdList(value.customerIds, `${path}.customerIds`);
  if (out.rate === undefined && out.customerIds === undefined) throw new SandboxConfigError(path, 'given rate or customerIds', value);
  if (value.codes !== undefined) {
    const codes = value.codes;
    if (!Array.isArray(codes) || codes.length === 0) throw new SandboxConfigError(`${path}.codes`, 'a non-empty array of error codes', codes);
    out.codes = codes.map((c, i) => codeSetting(c, `${path}.codes[${i}]`));
  }
  if (value.retryAfterSeconds !== undefined) out.retryAfterSeconds = retryAfter(value.retryAfterSeconds, `${path}.retryAfterSeconds`);
  return out;
}

function validateBatchRejection(value: unknown, path: string): BatchRejectionFault {
  if (!isPlainObject(value)) throw new SandboxConfigError(path, 'an object with customerIds', value);
  rejectUnknownKeys(value, ['customerIds', 'status'], path);
  const out: BatchRejectionFault = { customerIds: customerIdList(value.customerIds, `${path}.customerIds`) };
  if (value.status !== undefined) {
    if (value.status !== 400 && value.status !== 403 && value.status !== 422) throw new SandboxConfigError(`${path}.status`, '400, 403 or 422', value.status);
    out.status = value.status;
  }
  return out;
}

function codeSetting(value: unknown, path: string): string {
  if (typeof value !== 'string' || !CODE_PATTERN.test(value)) throw new SandboxConfigError(path, 'an error code (1-64 of A-Z a-z 0-9 _ . : -)', value);
  return value;
}

function customerIdSetting(value: unknown, path: string): string {
  if (typeof value !== 'string' || !CUSTOMER_ID_PATTERN.test(value)) {
    throw new SandboxConfigError(path, 'a customer id (1-128 of A-Z a-z 0-9 _ . : -)', value);
  }
  return value;
}

function customerIdList(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new SandboxConfigError(path, 'a non-empty array of customer ids', value);
  return value.map((id, i) => customerIdSetting(id, `${path}[${i}]`));
}

function rateSetting(value: unknown, path: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new SandboxConfigError(path, 'a number from 0 to 1', value);
  return value;
}

function validateLatency(value: unknown, path: string): LatencySpec {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= MAX_LATENCY_MS;
  if (ok(value)) return value;
  if (isPlainObject(value)) {
    rejectUnknownKeys(value, ['min', 'max'], path);
    if (!ok(value.min)) throw new SandboxConfigError(`${path}.min`, `a number of milliseconds from 0 to ${MAX_LATENCY_MS}`, value.min);
    if (!ok(value.max) || value.max < value.min) {
      throw new SandboxConfigError(`${path}.max`, `a number of milliseconds from min to ${MAX_LATENCY_MS}`, value.max);
    }
    return { min: value.min, max: value.max };
  }
  throw new SandboxConfigError(path, `a number of milliseconds from 0 to ${MAX_LATENCY_MS}, or { min, max }`, value);
}

function faultObject(value: unknown, path: string, extra: string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw new SandboxConfigError(path, 'an object with rate, every or requests', value);
  rejectUnknownKeys(value, ['rate', 'every', 'requests', ...extra], path);
  return value;
}

function trigger(f: Record<string, unknown>, path: string, required: boolean): FaultTrigger {
  const out: FaultTrigger = {};
  if (f.rate !== undefined) out.rate = rateSetting(f.rate, `${path}.rate`);
  if (f.every !== undefined) {
    if (!isNonNegativeInteger(f.every) || f.every < 1) throw new SandboxConfigError(`${path}.every`, 'a positive integer', f.every);
    out.every = f.every;
  }
  if (f.requests !== undefined) {
    const r = f.requests;
    if (!Array.isArray(r) || !r.every((x) => isNonNegativeInteger(x) && x >= 1)) {
      throw new SandboxConfigError(`${path}.requests`, 'an array of positive integers (1-based write-request numbers)', r);
    }
    out.requests = [...(r as number[])];
  }
  if (required && Object.keys(out).length === 0) {
    throw new SandboxConfigError(path, 'given at least one trigger: rate, every or requests', f);
  }
  return out;
}

function retryAfter(value: unknown, path: string): number {
  if (!isNonNegativeInteger(value) || value > 86_400) throw new SandboxConfigError(path, 'an integer number of seconds from 0 to 86400', value);
  return value;
}
