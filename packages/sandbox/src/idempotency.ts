/** One reserved or completed Idempotency-Key. */
export interface IdempotencyEntry {
  fingerprint: string;
  /** Set once the first request completed with a 2xx. */
  status?: number;
  replayBody?: string;
}

export type Admission =
  | { kind: 'new'; entry: IdempotencyEntry }
  | { kind: 'pending' }
  | { kind: 'conflict' }
  | { kind: 'replay'; status: number; body: string };

/**
 * Idempotency-Key bookkeeping, per endpoint and key. A key is reserved when its first request is
 * admitted (so a concurrent duplicate sees 202), kept only if that request ends in a 2xx, and
 * released otherwise, so a request that failed validation or hit a fault does not burn the key.
 * Keys do not expire: a sandbox lives for one test run.
 */
export class IdempotencyStore {
  private entries = new Map<string, IdempotencyEntry>();

  admit(endpoint: string, key: string, fingerprint: string): Admission {
    const id = `${endpoint} ${key}`;
    const entry = this.entries.get(id);
    if (!entry) {
      const fresh: IdempotencyEntry = { fingerprint };
      this.entries.set(id, fresh);
      return { kind: 'new', entry: fresh };
    }
    // A different body under a used key is a client bug whether or not the first one finished.
    if (entry.fingerprint !== fingerprint) return { kind: 'conflict' };
    if (entry.replayBody === undefined || entry.status === undefined) return { kind: 'pending' };
    return { kind: 'replay', status: entry.status, body: entry.replayBody };
  }

  /** Stores the outcome for replay; ignored if the store was reset while the request ran. */
  complete(endpoint: string, key: string, entry: IdempotencyEntry, status: number, replayBody: string): void {
    if (this.entries.get(`${endpoint} ${key}`) !== entry) return;
    entry.status = status;
    entry.replayBody = replayBody;
  }

  /** Frees a reservation whose request did not succeed. */
  release(endpoint: string, key: string, entry: IdempotencyEntry): void {
    const id = `${endpoint} ${key}`;
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }
}
