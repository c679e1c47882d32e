import { SandboxConfigError, isPlainObject, rejectUnknownKeys } from './config-error.js';
import { seededRandom, type Random } from './random.js';

/**
 * Makes `GET /api/v1/balance/derive` slow or fail, to test what a balance gate does when PacSpace
 * cannot be asked. `latencyMs` delays every derive read; a read fails with `status` when a trigger
 * picks it (`rate`, `every`, `requests`, counting derive reads from 1 since start, `setFaults()` or
 * `reset()`), or every read when `status` is given without a trigger. Draws come from their own
 * seeded stream, so derive faults never shift the write faults' decisions.
 *
 * @example
 * sandbox.setFaults({ derive: { latencyMs: 3000 } });            // slow
 * sandbox.setFaults({ derive: { status: 503 } });                // down
 * sandbox.setFaults({ derive: { rate: 0.5, status: 500 } });     // flaky
 */
export interface DeriveFault {
  /** Delay before answering each derive read, in ms (0-600000). */
  latencyMs?: number | undefined;
  /** Status of a failing read: 429, 500, 502, 503 or 504. Default 503. */
  status?: 429 | 500 | 502 | 503 | 504 | undefined;
  /** Probability in [0, 1] per derive read, seeded. */
  rate?: number | undefined;
  /** Fails every Nth derive read. */
  every?: number | undefined;
  /** Fails exactly these 1-based derive-read numbers. */
  requests?: number[] | undefined;
}

const STATUSES = [429, 500, 502, 503, 504];
const MAX_LATENCY_MS = 600_000;

/** Checks a {@link DeriveFault}, returning a private copy; throws SandboxConfigError naming the field. */
export function validateDeriveFault(value: unknown, path: string): DeriveFault {
  if (!isPlainObject(value)) throw new SandboxConfigError(path, 'an object with latencyMs, status, rate, every or requests', value);
  rejectUnknownKeys(value, ['latencyMs', 'status', 'rate', 'every', 'requests'], path);
  const out: DeriveFault = {};
  const { latencyMs, status, rate, every, requests } = value;
  if (latencyMs !== undefined) {
    if (typeof latencyMs !== 'number' || !Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > MAX_LATENCY_MS) {
      throw new SandboxConfigError(`${path}.latencyMs`, `an integer number of milliseconds from 0 to ${MAX_LATENCY_MS}`, latencyMs);
    }
    out.latencyMs = latencyMs;
  }
  if (status !== undefined) {
    if (!STATUSES.includes(status as number)) throw new SandboxConfigError(`${path}.status`, STATUSES.join(', '), status);
    out.status = status as DeriveFault['status'];
  }
  if (rate !== undefined) {
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new SandboxConfigError(`${path}.rate`, 'a number from 0 to 1', rate);
    out.rate = rate;
  }
  if (every !== undefined) {
    if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) throw new SandboxConfigError(`${path}.every`, 'a positive integer', every);
    out.every = every;
  }
  if (requests !== undefined) {
    if (!Array.isArray(requests) || !requests.every((n) => Number.isSafeInteger(n) && n >= 1)) {
      throw new SandboxConfigError(`${path}.requests`, 'an array of positive integers (1-based derive-read numbers)', requests);
    }
    out.requests = [...(requests as number[])];
  }
  if (Object.keys(out).length === 0) throw new SandboxConfigError(path, 'given latencyMs, status or a trigger (rate, every, requests)', value);
  return out;
}

/** What happens to one derive read. */
export interface ReadDecision {
  latencyMs: number;
  /** The status to fail with, or undefined to answer. */
  failWith: number | undefined;
}

const NONE: ReadDecision = Object.freeze({ latencyMs: 0, failWith: undefined });

/**
 * Numbers derive reads and decides their faults, from a PRNG of their own (seeded from the
 * sandbox's seed), so the same reads under the same seed get the same faults.
 *
 * @example
 * const reads = new ReadFaults(1);
 * reads.replace({ status: 503, every: 2 });
 * reads.decide(); // { latencyMs: 0, failWith: undefined }, then { latencyMs: 0, failWith: 503 }
 */
export class ReadFaults {
  private fault: DeriveFault | undefined;
  private requests: Set<number> | undefined;
  private random: Random;
  private reads = 0;

  constructor(private readonly seed: number) {
    this.random = seededRandom(this.streamSeed());
  }

  replace(fault: DeriveFault | undefined): void {
    this.fault = fault;
    this.requests = fault?.requests ? new Set(fault.requests) : undefined;
    this.restart();
  }

  restart(): void {
    this.reads = 0;
    this.random = seededRandom(this.streamSeed());
  }

  decide(): ReadDecision {
    const n = ++this.reads;
    const f = this.fault;
    if (!f) return NONE;
    const drawn = f.rate !== undefined && this.random() < f.rate;
    const triggered = f.rate !== undefined || f.every !== undefined || f.requests !== undefined;
    const fails = triggered ? drawn || (f.every !== undefined && n % f.every === 0) || (this.requests?.has(n) ?? false) : f.status !== undefined;
    return { latencyMs: f.latencyMs ?? 0, failWith: fails ? (f.status ?? 503) : undefined };
  }

  /** A stream apart from the write faults' one. */
  private streamSeed(): number {
    return (this.seed ^ 0x2f6b_a11c) >>> 0;
  }
}
