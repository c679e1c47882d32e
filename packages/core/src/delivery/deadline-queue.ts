/** A deadline registered with {@link DeadlineQueue}; `cancel()` once the work ended in time. */
export interface Deadline {
  cancel(): void;
}

interface Entry extends Deadline {
  readonly at: number;
  readonly onExpire: () => void;
  readonly queue: DeadlineQueue;
  done: boolean;
}

/**
 * Deadlines that all have the same length expire in the order they were set, so one timer serves
 * all of them: adding one is an array push and cancelling one sets a flag. Per delivery attempt
 * that replaces a Node timer created and cleared (and Node's list for that duration rebuilt each
 * time its last timer went, which happens on every attempt when deliveries do not overlap).
 * The timer keeps the process alive only while deadlines are pending, as one timer per attempt did;
 * with none pending it stays, unref'd, for the next one instead of being cleared and recreated.
 *
 * @example
 * const deadlines = new DeadlineQueue(10_000);
 * const deadline = deadlines.add(() => reject(new Error('timed out')));
 * send().finally(() => deadline.cancel());
 */
export class DeadlineQueue {
  private entries: Entry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private live = 0;

  constructor(private readonly ms: number) {}

  /** Calls `onExpire` in `ms` milliseconds, unless the returned deadline is cancelled first. */
  add(onExpire: () => void): Deadline {
    const entry: Entry = { at: Date.now() + this.ms, onExpire, queue: this, done: false, cancel: cancelEntry };
    this.entries.push(entry);
    this.live++;
    if (this.timer === undefined) this.timer = setTimeout(() => this.expire(), this.ms);
    else if (this.live === 1) this.timer.ref?.();
    return entry;
  }

  /** Expires every pending deadline now (their work is abandoned: a close ran out of time). */
  expireAll(): void {
    while (this.live !== 0) {
      const entry = this.entries[this.head]!;
      entry.done = true;
      this.settled();
      entry.onExpire();
    }
  }

  /** Deadlines neither cancelled nor expired. */
  pending(): number {
    return this.live;
  }

  /** @internal An entry was cancelled or expired: drop finished entries from the front. */
  settled(): void {
    if (--this.live === 0) {
      this.entries.length = 0;
      this.head = 0;
      this.timer?.unref?.();
      return;
    }
    const { entries } = this;
    while (entries[this.head]!.done) this.head++;
    if (this.head > 1024 && this.head * 2 > entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
  }

  private expire(): void {
    this.timer = undefined;
    // Node may fire a timer a millisecond before Date.now() reaches its due time.
    const now = Date.now() + 1;
    while (this.live !== 0) {
      const entry = this.entries[this.head]!;
      if (entry.at > now) {
        this.timer = setTimeout(() => this.expire(), entry.at - Date.now());
        return;
      }
      entry.done = true;
      this.settled();
      entry.onExpire();
    }
  }
}

function cancelEntry(this: Entry): void {
  if (this.done) return;
  this.done = true;
  this.queue.settled();
}
