import type { FaultConfig, FaultTrigger } from './faults.js';
import { seededRandom, type Random } from './random.js';

/** What one batch item gets instead of being committed. */
export interface ItemFailure {
  code: string;
  retryAfterSeconds?: number;
}

/** The per-item part of a decision: drawn up front, so later draws never depend on item content. */
export interface ItemFailurePlan {
  /** Index -> whether the rate draw fired. */
  drawn: boolean[];
  /** Index -> the code that item gets if it fails. */
  codes: string[];
  customerIds: ReadonlySet<string>;
  retryAfterSeconds?: number;
}

/** Which deltas of a request end FAILED once their lifecycle completes. */
export interface VerificationFailurePlan {
  /** Index (0 for a single delta) -> whether the rate draw fired. */
  drawn: boolean[];
  customerIds: ReadonlySet<string>;
  code: string;
}

/** What the fault plan decided for one write request. */
export interface FaultDecision {
  latencyMs: number;
  serverError?: { status: number; retryAfterSeconds?: number };
  rateLimit?: { retryAfterSeconds: number };
  cadenceLimit?: { customerId: string; retryAfterSeconds: number };
  batchRejection?: { customerIds: ReadonlySet<string>; status: 400 | 403 | 422 };
  reset: boolean;
  commitDrop: boolean;
  itemFailures?: ItemFailurePlan;
  verificationFailures?: VerificationFailurePlan;
}

const NONE: FaultDecision = Object.freeze({ latencyMs: 0, reset: false, commitDrop: false });
const DEFAULT_STATUSES = [500, 502, 503, 504];
const DEFAULT_ITEM_CODES = ['SERVICE_UNAVAILABLE'];
const DEFAULT_VERIFICATION_CODE = 'VERIFICATION_FAILED';

/** Trigger with `requests` turned into a set, so matching is O(1) per request. */
interface CompiledTrigger {
  rate?: number;
  every?: number;
  requests?: Set<number>;
  always: boolean;
}

type TriggeredFault = 'serverError' | 'rateLimit' | 'cadenceLimit' | 'resetBeforeProcessing' | 'commitThenDrop';

/**
 * Holds the active faults, the write counter and the PRNG. Draws happen in a fixed order
 * (latency, serverError, its status, rateLimit, cadenceLimit, reset, commitThenDrop, then per
 * batch item the itemFailures rate and code, then per delta the verificationFailure rate), one per
 * configured random setting, whatever the
 * request turns out to be — so the same request sequence under the same seed always gets the
 * same faults.
 */
export class FaultPlan {
  private config: FaultConfig = {};
  private compiled: Partial<Record<TriggeredFault, CompiledTrigger>> = {};
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

  /**
   * Decides the faults for the next write request.
   *
   * @param deltas - how many deltas the body holds (1 for a single delta, the item count for a
   *   batch, 0 for a checkpoint): each gets its own per-item draws.
   * @param batch - whether it is a batch (only batch items get itemFailures).
   */
  decide(deltas = 0, batch = false): FaultDecision {
    const n = ++this.writes;
    if (this.empty) return NONE;
    const { latencyMs, serverError, rateLimit, cadenceLimit, batchRejection } = this.config;
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
    if (batchRejection) decision.batchRejection = { customerIds: new Set(batchRejection.customerIds), status: batchRejection.status ?? 400 };
    decision.reset = this.fires('resetBeforeProcessing', n);
    decision.commitDrop = this.fires('commitThenDrop', n);
    if (this.config.itemFailures && batch && deltas > 0) decision.itemFailures = this.drawItemFailures(deltas);
    if (this.config.verificationFailure && deltas > 0) decision.verificationFailures = this.drawVerificationFailures(deltas);
    return decision;
  }

  private drawVerificationFailures(deltas: number): VerificationFailurePlan {
    const { rate, customerIds = [], code = DEFAULT_VERIFICATION_CODE } = this.config.verificationFailure!;
    const drawn: boolean[] = [];
    for (let i = 0; i < deltas; i++) drawn.push(rate !== undefined && this.random() < rate);
    return { drawn, customerIds: new Set(customerIds), code };
  }

  private drawItemFailures(items: number): ItemFailurePlan {
    const { rate, customerIds = [], codes = DEFAULT_ITEM_CODES, retryAfterSeconds } = this.config.itemFailures!;
    const plan: ItemFailurePlan = { drawn: [], codes: [], customerIds: new Set(customerIds), retryAfterSeconds };
    for (let i = 0; i < items; i++) {
      plan.drawn.push(rate !== undefined && this.random() < rate);
      plan.codes.push(codes[Math.floor(this.random() * codes.length)] ?? codes[0]!);
    }
    return plan;
  }

  private fires(name: TriggeredFault, n: number): boolean {
    const trigger = this.compiled[name];
    if (!trigger) return false;
    // Draw first and unconditionally, so the PRNG stream depends only on the request count.
    const drawn = trigger.rate !== undefined && this.random() < trigger.rate;
    return drawn || trigger.always || (trigger.every !== undefined && n % trigger.every === 0) || (trigger.requests?.has(n) ?? false);
  }
}

/** The injected failure for one batch item that would otherwise be committed, if any. */
export function itemFailureFor(plan: ItemFailurePlan | undefined, index: number, customerId: string): ItemFailure | undefined {
  if (!plan || !(plan.drawn[index] || plan.customerIds.has(customerId))) return undefined;
  const code = plan.codes[index]!;
  return plan.retryAfterSeconds === undefined ? { code } : { code, retryAfterSeconds: plan.retryAfterSeconds };
}

/** The code a delta committed at `index` of its request will end FAILED with, or null. */
export function verificationFailureFor(plan: VerificationFailurePlan | undefined, index: number, customerId: string): string | null {
  return plan && (plan.drawn[index] || plan.customerIds.has(customerId)) ? plan.code : null;
}

function compileTrigger(trigger: FaultTrigger, alwaysWhenEmpty: boolean): CompiledTrigger {
  const empty = trigger.rate === undefined && trigger.every === undefined && trigger.requests === undefined;
  return {
    rate: trigger.rate,
    every: trigger.every,
    requests: trigger.requests ? new Set(trigger.requests) : undefined,
    always: empty && alwaysWhenEmpty,
  };
}
