import { randomHex } from '../random-hex.js';
import { buildReferenceId } from './reference-id.js';
import { addToSum, totalOf, type RunningSum } from './running-sum.js';
import { DELTA_LIMITS } from './validation.js';

/**
 * The deltas of one (customer, reason) that arrived while the queue was full, summed.
 *
 * @example
 * const { customerId, reason, referenceId, deltas } : OverflowSum = sums.take()!;
 */
export interface OverflowSum extends RunningSum {
  readonly customerId: string;
  readonly reason: string;
  /** `{scope}:{reason}:{customer}:overflow.{instance}.{part}`: fixed when the sum opens. */
  readonly referenceId: string;
  /** Deltas summed. */
  deltas: number;
  /** Epoch ms of the first and the last delta summed. */
  firstAt: number;
  lastAt: number;
}

/**
 * Bounded running sums per (customer, reason) for deltas that found the queue full, so that the
 * amount to bill survives a long PacSpace outage even when per-request detail cannot. Each sum
 * becomes one delta once the queue has room, under a referenceId that no other instance, restart
 * or sum can have: `overflow.{instance}.{part}` as its request id, where `instance` is 48 random
 * bits drawn when the meter starts and `part` counts the sums this meter opened. A sum that would
 * leave PacSpace's ±1e9 range is closed and a new part opened.
 *
 * @example
 * const sums = new OverflowSums('billing-api', 10_000);
 * if (!sums.add('acme', 'api_request', -1, Date.now())) refuse('queue_full');
 */
export class OverflowSums {
  /** Deltas held in all sums. */
  deltas = 0;
  private readonly open = new Map<string, OverflowSum>();
  /** Sums closed because one more delta would have left the API's range, oldest first. */
  private readonly closed: OverflowSum[] = [];
  private parts = 0;
  /** Drawn at the first sum, not when the Meter is made (Workers refuse random values outside a request). */
  private instance: string | undefined;

  constructor(
    private readonly scope: string,
    private readonly maxSums: number,
  ) {}

  /** Sums held (open and closed). */
  get size(): number {
    return this.open.size + this.closed.length;
  }

  /** Adds a valid delta to its sum. False when that needs a new sum and `maxSums` are held. */
  add(customerId: string, reason: string, delta: number, at: number): boolean {
    // customerIds are `[A-Za-z0-9_.:-]`: a newline cannot be part of one.
    const key = `${customerId}\n${reason}`;
    let sum = this.open.get(key);
    if (sum && Math.abs(totalOf(sum) + delta) > DELTA_LIMITS.maxAbsDelta) {
      this.open.delete(key);
      this.closed.push(sum);
      sum = undefined;
    }
    if (!sum) {
      if (this.size >= this.maxSums) return false;
      sum = this.openSum(customerId, reason, at);
      this.open.set(key, sum);
    }
    addToSum(sum, delta);
    sum.deltas++;
    sum.lastAt = at;
    this.deltas++;
    return true;
  }

  /** Removes and returns the oldest sum, or undefined when there is none. */
  take(): OverflowSum | undefined {
    let sum = this.closed.shift();
    if (!sum) {
      const first = this.open.entries().next();
      if (first.done) return undefined;
      this.open.delete(first.value[0]);
      sum = first.value[1];
    }
    this.deltas -= sum.deltas;
    return sum;
  }

  /** The open sum of (customer, reason), where a successful `add` for them went; undefined when none is open. */
  sumOf(customerId: string, reason: string): OverflowSum | undefined {
    return this.open.get(`${customerId}\n${reason}`);
  }

  /** Every sum held, oldest first (for reports). */
  list(): OverflowSum[] {
    return [...this.closed, ...this.open.values()];
  }

  private openSum(customerId: string, reason: string, at: number): OverflowSum {
    const referenceId = buildReferenceId({ scope: this.scope, operation: reason, customerId, requestId: `overflow.${(this.instance ??= randomHex(6))}.${++this.parts}` });
    return { customerId, reason, referenceId, sum: 0, compensation: 0, deltas: 0, firstAt: at, lastAt: at };
  }
}
