import { timingSafeEqual } from 'node:crypto';
import { FaultPlan } from './fault-plan.js';
import { validateFaults } from './fault-validation.js';
import type { FaultConfig } from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import { Ledger } from './ledger.js';
import type { ResolvedOptions } from './options.js';

/** Everything one sandbox knows; survives stop()/start(), cleared by reset(). */
export class SandboxState {
  readonly ledger: Ledger;
  readonly idempotency = new IdempotencyStore();
  readonly faults: FaultPlan;
  readonly maxBodyBytes: number;
  private readonly key: Buffer;

  constructor(options: ResolvedOptions) {
    this.ledger = new Ledger(options.maxRequestLog);
    this.faults = new FaultPlan(options.faults, options.seed);
    this.maxBodyBytes = options.maxBodyBytes;
    this.key = Buffer.from(options.apiKey);
  }

  /** Constant-time comparison, so the sandbox does not model a timing leak real servers avoid. */
  isAuthorized(header: string | string[] | undefined): boolean {
    if (typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === this.key.length && timingSafeEqual(given, this.key);
  }

  /** Validates and replaces the faults; write numbering and the PRNG start over. */
  setFaults(config: unknown): FaultConfig {
    const valid = validateFaults(config);
    this.faults.replace(valid);
    return valid;
  }

  reset(): void {
    this.ledger.reset();
    this.idempotency.clear();
    this.faults.restart();
  }
}
