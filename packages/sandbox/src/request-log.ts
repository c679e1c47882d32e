import type { RequestRecord } from './ledger.js';

/** A RequestRecord as kept in memory: `at` stays a number until a snapshot is taken. */
export type LoggedRequest = Omit<RequestRecord, 'at'> & { at: number };

/**
 * A bounded ring of requests: once full, the oldest entry is overwritten and counted as dropped,
 * so a long benchmark cannot grow memory without bound and pushing stays O(1).
 */
export class RequestLog {
  private items: LoggedRequest[] = [];
  private head = 0;
  dropped = 0;

  constructor(private readonly max: number) {}

  push(entry: LoggedRequest): void {
    if (this.items.length < this.max) {
      this.items.push(entry);
      return;
    }
    this.dropped++;
    if (this.max === 0) return;
    this.items[this.head] = entry;
    this.head = (this.head + 1) % this.max;
  }

  /** Entries oldest first. */
  toArray(): LoggedRequest[] {
    return this.head === 0 ? this.items.slice() : this.items.slice(this.head).concat(this.items.slice(0, this.head));
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.dropped = 0;
  }
}
