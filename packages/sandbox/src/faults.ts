import {
  SandboxConfigError,
  isNonNegativeInteger,
  isPlainObject,
  rejectUnknownKeys,
} from './config-error.js';
import { seededRandom, type Random } from './random.js';
import { CUSTOMER_ID_PATTERN } from './validation.js';

/**
 * When a fault fires. It fires on a write request if ANY trigger matches. Write requests (POSTs to
 * delta, delta/batch and checkpoint whose body parsed) are numbered from 1, counting from the last
 * `startSandbox()`, `setFaults()` or `reset()`.
 *
 * @example
 * sandbox.setFaults({ resetBeforeProcessing: { rate: 0.1, every: 10, requests: [1, 2] } });
 */
export interface FaultTrigger {
  /** Probability in [0, 1] per write request, drawn from the seeded PRNG. */
  rate?: number;
  /** Fires on every Nth write request (N, 2N, ...). */
  every?: number;
  /** Fires on exactly these 1-based write-request numbers. */
  requests?: number[];
}

/**
 * A 5xx answered before anything is processed.
 *
 * @example
 * sandbox.setFaults({ serverError: { every: 3, statuses: [503], retryAfterSeconds: 1 } });
 */
export interface ServerErrorFault extends FaultTrigger {
  /** Statuses to pick from (uniformly, seeded). Default `[500, 502, 503, 504]`. */
  statuses?: number[];
  /** When set, adds a `Retry-After` header and `error.retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

/**
 * A 429 `RATE_LIMITED` with `Retry-After`.
 *
 * @example
 * sandbox.setFaults({ rateLimit: { rate: 0.05, retryAfterSeconds: 1 } });
 */
export interface RateLimitFault extends FaultTrigger {
  retryAfterSeconds: number;
}

/**
 * A 429 `CADENCE_LIMIT` for one customer. With no trigger it fires on every write for that customer.
 * Applies to delta requests; in a batch only that customer's items fail (`error: 'CADENCE_LIMIT'`).
 *
 * @example
 * sandbox.setFaults({ cadenceLimit: { customerId: 'cust_busy', retryAfterSeconds: 3600 } });
 */
export interface CadenceLimitFault extends FaultTrigger {
  customerId: string;
  retryAfterSeconds: number;
}

/**
 * Fixed milliseconds, or a seeded uniform pick from `[min, max]`.
 *
 * @example
 * sandbox.setFaults({ latencyMs: { min: 5, max: 50 } });
 */
export type LatencySpec = number | { min: number; max: number };

/**
 * Faults injected into the three POST write endpoints. Default: none. Each request's faults are
 * decided in a fixed order from the seeded PRNG; see the README for the exact order.
 *
 * @example
 * const faults: FaultConfig = {
 *   latencyMs: 20,
 *   serverError: { rate: 0.2 },
 *   commitThenDrop: { requests: [3] },
 * };
 * const sandbox = await startSandbox({ faults, seed: 42 });
 */
export interface FaultConfig {
  /**
   * Delay before processing a write, after its idempotency key is reserved. Answers served from the
   * idempotency store (202, 409, replay) are not delayed.
   */
  latencyMs?: LatencySpec;
  serverError?: ServerErrorFault;
  rateLimit?: RateLimitFault;
  cadenceLimit?: CadenceLimitFault;
  /** Connection reset (RST) before anything is committed. */
  resetBeforeProcessing?: FaultTrigger;
  /** Commit the write (ledger and idempotency store), then drop the connection without a response. */
  commitThenDrop?: FaultTrigger;
}

/** What the fault plan decided for one write request. */
export interface FaultDecision {
  latencyMs: number;
  serverError?: { status: number; retryAfterSeconds?: number };
  rateLimit?: { retryAfterSeconds: number };
  cadenceLimit?: { customerId: string; retryAfterSeconds: number };
  reset: boolean;
  commitDrop: boolean;
}

const NONE: FaultDecision = Object.freeze({ latencyMs: 0, reset: false, commitDrop: false });
const MAX_LATENCY_MS = 600_000;

/** Trigger with `requests` turned into a set, so matching is O(1) per request. */
interface CompiledTrigger {
  rate?: number;
  every?: number;
  requests?: Set<number>;
  always: boolean;
}

/**
 * Holds the active faults, the write counter and the PRNG. Draws happen in a fixed order
 * (latency, serverError, its status, rateLimit, cadenceLimit, reset, commitThenDrop), one per
 * configured random setting per write request, whatever the request turns out to be — so the same
 * request sequence under the same seed always gets the same faults.
 */
export class FaultPlan {
  private config: FaultConfig = {};
  private compiled: Partial<Record<keyof FaultConfig, CompiledTrigger>> = {};
  private random: Random;
  private writes = 0;
  private empty = true;

  constructor(
    config: FaultConfig,
    private readonly seed: number,
  ) {
    this.random = seededRandom(seed);
    this.replace(config);
  }

  /** Installs already-validated faults and restarts numbering and the PRNG. */
  replace(config: FaultConfig): void {
    this.config = config;
    this.compiled = {};
    for (const name of ['serverError', 'rateLimit', 'cadenceLimit', 'resetBeforeProcessing', 'commitThenDrop'] as const) {
      const fault = config[name];
      if (fault) this.compiled[name] = compileTrigger(fault, name === 'cadenceLimit');
    }
    this.empty = Object.keys(config).length === 0;
    this.restart();
  }

  /** Restarts write numbering and reseeds, so a reset sandbox replays the same faults. */
  restart(): void {
    this.writes = 0;
    this.random = seededRandom(this.seed);
  }

  current(): FaultConfig {
    return structuredClone(this.config);
  }

  /** Decides the faults for the next write request. */
  decide(): FaultDecision {
    const n = ++this.writes;
    if (this.empty) return NONE;
    const { latencyMs, serverError, rateLimit, cadenceLimit } = this.config;
    const decision: FaultDecision = { latencyMs: 0, reset: false, commitDrop: false };

    if (typeof latencyMs === 'number') decision.latencyMs = latencyMs;
    else if (latencyMs) decision.latencyMs = Math.round(latencyMs.min + this.random() * (latencyMs.max - latencyMs.min));

    if (serverError) {
      const fired = this.fires('serverError', n);
      const pick = this.random(); // drawn even when not fired, so later draws never shift
      if (fired) {
        const statuses = serverError.statuses ?? DEFAULT_STATUSES;
        const status = statuses[Math.floor(pick * statuses.length)] ?? 500;
        decision.serverError = { status, retryAfterSeconds: serverError.retryAfterSeconds };
      }
    }
    if (rateLimit && this.fires('rateLimit', n)) decision.rateLimit = { retryAfterSeconds: rateLimit.retryAfterSeconds };
    if (cadenceLimit && this.fires('cadenceLimit', n)) {
      decision.cadenceLimit = { customerId: cadenceLimit.customerId, retryAfterSeconds: cadenceLimit.retryAfterSeconds };
    }
    decision.reset = this.fires('resetBeforeProcessing', n);
    decision.commitDrop = this.fires('commitThenDrop', n);
    return decision;
  }

  private fires(name: keyof FaultConfig, n: number): boolean {
    const trigger = this.compiled[name];
    if (!trigger) return false;
    // Draw first and unconditionally, so the PRNG stream depends only on the request count.
    const drawn = trigger.rate !== undefined && this.random() < trigger.rate;
    return drawn || trigger.always || (trigger.every !== undefined && n % trigger.every === 0) || (trigger.requests?.has(n) ?? false);
  }
}

const DEFAULT_STATUSES = [500, 502, 503, 504];

function compileTrigger(trigger: FaultTrigger, alwaysWhenEmpty: boolean): CompiledTrigger {
  const empty = trigger.rate === undefined && trigger.every === undefined && trigger.requests === undefined;
  return {
    rate: trigger.rate,
    every: trigger.every,
    requests: trigger.requests ? new Set(trigger.requests) : undefined,
    always: empty && alwaysWhenEmpty,
  };
}

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
  rejectUnknownKeys(input, ['latencyMs', 'serverError', 'rateLimit', 'cadenceLimit', 'resetBeforeProcessing', 'commitThenDrop'], path);
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
    if (typeof f.customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(f.customerId)) {
      throw new SandboxConfigError(`${path}.cadenceLimit.customerId`, 'a customer id (1-128 of A-Z a-z 0-9 _ . : -)', f.customerId);
    }
    out.cadenceLimit = {
      ...trigger(f, `${path}.cadenceLimit`, false),
      customerId: f.customerId,
      retryAfterSeconds: retryAfter(f.retryAfterSeconds, `${path}.cadenceLimit.retryAfterSeconds`),
    };
  }
  for (const name of ['resetBeforeProcessing', 'commitThenDrop'] as const) {
    if (input[name] !== undefined) out[name] = trigger(faultObject(input[name], `${path}.${name}`, []), `${path}.${name}`, true);
  }
  return out;
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
  if (f.rate !== undefined) {
    if (typeof f.rate !== 'number' || !(f.rate >= 0 && f.rate <= 1)) throw new SandboxConfigError(`${path}.rate`, 'a number from 0 to 1', f.rate);
    out.rate = f.rate;
  }
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
