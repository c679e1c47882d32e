/**
 * A bounded ring of requests: once full, the oldest entry is overwritten and counted as dropped,
 * so a long benchmark cannot grow memory without bound and pushing stays O(1). It knows nothing of
 * what an entry holds (the ledger decides), so it imports nothing.
 *
 * @example
 * const log = new RequestLog<{ path: string }>(2);
 * log.push({ path: '/a' });
 */
export class RequestLog<T> {
  private items: T[] = [];
  private head = 0;
  dropped = 0;

  constructor(private readonly max: number) {}

  push(entry: T): void {
    if (this.items.length < this.max) {
      this.items.push(entry);
      return;
    }
    this.dropped++;
    if (this.max === 0) return;
    this.items[this.head] = entry;
    this.head = (this.head + 1) % this.max;
  }

  /** The newest `limit` entries (all by default), oldest first. */
  toArray(limit = Infinity): T[] {
    const n = Math.min(limit, this.items.length);
    const out: T[] = [];
    // The newest entry sits just before `head` in the ring.
    for (let i = this.items.length - n; i < this.items.length; i++) out.push(this.items[(this.head + i) % this.items.length]!);
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.dropped = 0;
  }
}
