import { timingSafeEqual } from 'node:crypto';
import { FaultPlan } from './fault-plan.js';
import { validateFaults } from './fault-validation.js';
import type { FaultConfig } from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import { Ledger } from './ledger.js';
import { ReadFaults } from './read-faults.js';
import type { ResolvedOptions } from './options.js';
import { LIVE_KEY_PREFIX } from './validation.js';
import type { ResolvedPace } from './verification.js';

/** What an `X-Api-Key` header is to this sandbox. */
export type KeyCheck = 'ok' | 'live' | 'invalid';

/** Everything one sandbox knows; survives stop()/start(), cleared by reset(). */
export class SandboxState {
  readonly ledger: Ledger;
  readonly idempotency = new IdempotencyStore();
  readonly faults: FaultPlan;
  /** Faults of derive reads, numbered and drawn apart from the writes'. */
  readonly readFaults: ReadFaults;
  readonly maxBodyBytes: number;
  readonly pace: ResolvedPace;
  /** Whether `POST /delta` also treats a committed referenceId as a replay (see `singleDeltaDedupe`). */
  readonly singleDeltaDedupe: ResolvedOptions['singleDeltaDedupe'];
  private readonly key: Buffer;

  constructor(options: ResolvedOptions) {
    this.pace = options.verification;
    this.ledger = new Ledger(options.maxRequestLog, options.verification);
    this.faults = new FaultPlan(options.faults, options.seed);
    this.readFaults = new ReadFaults(options.seed);
    this.readFaults.replace(options.faults.derive);
    this.maxBodyBytes = options.maxBodyBytes;
    this.singleDeltaDedupe = options.singleDeltaDedupe;
    this.key = Buffer.from(options.apiKey);
  }

  /** A live key is refused as such; others are compared in constant time, as real servers do. */
  checkKey(header: string | string[] | undefined): KeyCheck {
    if (typeof header !== 'string') return 'invalid';
    if (header.startsWith(LIVE_KEY_PREFIX)) return 'live';
    const given = Buffer.from(header);
    return given.length === this.key.length && timingSafeEqual(given, this.key) ? 'ok' : 'invalid';
  }

  /** Validates and replaces the faults; write numbering and the PRNG start over. */
  setFaults(config: unknown): FaultConfig {
    const valid = validateFaults(config);
    this.faults.replace(valid);
    this.readFaults.replace(valid.derive);
    return valid;
  }

  reset(): void {
    this.ledger.reset();
    this.idempotency.clear();
    this.faults.restart();
    this.readFaults.restart();
  }
}
