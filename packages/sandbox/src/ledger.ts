import { canonicalJson, sha256Hex } from './canonical.js';
import { RequestLog } from './request-log.js';
import type { DeltaInput } from './validation.js';
import { statusAt, type DeltaStatus, type ResolvedPace } from './verification.js';

/**
 * How a request ended, as recorded in the request log.
 *
 * @example
 * const dropped = sandbox.ledger().requests.filter((r) => r.outcome === 'fault:commit-drop');
 */
export type Outcome =
  | 'committed'
  | 'replayed'
  | 'pending'
  | 'conflict'
  | 'invalid'
  | 'unauthorized'
  | 'fault:server-error'
  | 'fault:rate-limit'
  | 'fault:cadence-limit'
  | 'fault:reset'
  | 'fault:commit-drop'
  | 'fault:item-failure'
  | 'fault:batch-rejection'
  | 'read'
  | 'not-found'
  | 'not-implemented'
  /** A pk_live_ key: refused with 403 API_KEY_ENVIRONMENT_HOST_MISMATCH. */
  | 'live-key'
  /** A bug in the sandbox itself (500 INTERNAL_ERROR); never expected. */
  | 'error';

/**
 * A committed delta. Absent optional fields are null.
 *
 * @example
 * const [first]: LedgerDelta[] = sandbox.ledger().deltas;
 * expect(first).toMatchObject({ customerId: 'cust_1', delta: 1, referenceId: 'req_1' });
 */
export interface LedgerDelta {
  recordId: string;
  receiptId: string;
  customerId: string;
  delta: number;
  reason: string;
  referenceId: string | null;
  metadata: Record<string, unknown> | null;
  /** The committed delta this one corrects (sent as `adjusts`), or null. */
  adjusts: AdjustedDelta | null;
  /** The Idempotency-Key of the request that committed it (a batch's key for its items), or null. */
  idempotencyKey: string | null;
  /** ISO 8601 commit time. */
  committedAt: string;
  /** Where its lifecycle is at the time of the snapshot (see the `verification` option). */
  status: DeltaStatus;
  /** ISO 8601 time it became VERIFIED or FAILED; null while QUEUED or PROCESSING. */
  settledAt: string | null;
  /** The error code of a delta that ends FAILED (verificationFailure fault), else null. */
  error: string | null;
}

/**
 * The delta an `adjusts` reference resolved to.
 *
 * @example
 * expect(sandbox.ledger().deltas[1]!.adjusts).toEqual({ recordId: 'rec_1', referenceId: 'req_1' });
 */
export interface AdjustedDelta {
  recordId: string;
  referenceId: string | null;
}

/**
 * One request the sandbox saw on the Balance API (the `/_sandbox` control routes are not logged).
 *
 * @example
 * const statuses = sandbox.ledger().requests.map((r: RequestRecord) => r.status); // e.g. [503, 0, 201]
 */
export interface RequestRecord {
  /** 1-based, counting every request since start or reset (also the ones the bounded log dropped). */
  seq: number;
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** The `X-Chain-Id` header the client sent, or null. */
  chainId: string | null;
  customerId?: string;
  /** HTTP status sent, or 0 when no response went out (a fault dropped the socket, or the client or a stop() did). */
  status: number;
  outcome: Outcome;
  /** ISO 8601 time the request finished. */
  at: string;
  /** Only on batch requests that were processed: how their items ended. */
  items?: BatchItems;
  /** The ledger records (`recordId`) this request committed, in order; absent when it committed none. */
  recordIds?: string[];
  /** Only on batch requests: the distinct customers its items name, in order (a single delta's is `customerId`). */
  customerIds?: string[];
}

/** A RequestRecord as kept in memory: `at` stays a number until a snapshot is taken. */
type LoggedRequest = Omit<RequestRecord, 'at'> & { at: number };

/**
 * How the items of one batch request ended. `failures` counts failed items by `error` code.
 *
 * @example
 * const [batch] = sandbox.ledger().requests;
 * expect(batch!.items).toEqual({ total: 3, committed: 2, replayed: 0, failed: 1, faulted: 1, failures: { SERVICE_UNAVAILABLE: 1 } });
 */
export interface BatchItems {
  total: number;
  committed: number;
  replayed: number;
  failed: number;
  /** Of the failed items, those an injected fault failed (`itemFailures`, `cadenceLimit`). */
  faulted: number;
  failures: Record<string, number>;
}

/**
 * A checkpoint, recorded once per resolved scope (customerId or all, period).
 *
 * @example
 * const [checkpoint]: CheckpointRecord[] = sandbox.ledger().checkpoints;
 */
export interface CheckpointRecord {
  checkpointId: string;
  proofRoot: string;
  /** null for a checkpoint over all customers. */
  customerId: string | null;
  period: string;
  deltasCount: number;
  netChange: number;
  createdAt: string;
}

/**
 * Counters since start or reset.
 *
 * @example
 * expect(sandbox.ledger().counts).toMatchObject({ committed: 10, replayed: 2 });
 */
export interface LedgerCounts {
  /** Every request seen, including ones the bounded log has dropped. */
  requests: number;
  /** Deltas committed (batch items count one each). */
  committed: number;
  /** Requests answered from the idempotency store (or a repeated checkpoint scope). */
  replayed: number;
  /** 202 IDEMPOTENCY_PENDING answers. */
  pending: number;
  /** 409 IDEMPOTENCY_CONFLICT answers. */
  conflicts: number;
  /** Requests an injected fault answered or dropped (latency not counted). */
  faults: number;
  /** Batch items an injected fault failed inside a 2xx answer (`itemFailures`, `cadenceLimit`): the batch itself is not a fault. */
  itemFaults: number;
  /** Oldest request-log entries dropped because of `maxRequestLog`. */
  requestLogDropped: number;
}

/**
 * What `ledger()` returns: a deep copy, safe to keep and mutate.
 *
 * @example
 * const { deltas, requests, checkpoints, counts }: LedgerSnapshot = sandbox.ledger();
 */
export interface LedgerSnapshot {
  deltas: LedgerDelta[];
  requests: RequestRecord[];
  checkpoints: CheckpointRecord[];
  counts: LedgerCounts;
}

/**
 * A committed delta as kept in memory: the facts fixed at commit. Its status is computed from the
 * clock whenever it is read, so the lifecycle needs no timers.
 */
export interface StoredDelta extends Omit<LedgerDelta, 'status' | 'settledAt' | 'error'> {
  /** Commit time as a number, for cheap range filtering. */
  ms: number;
  /** The code it will end FAILED with, decided at commit; null when it will verify. */
  failure: string | null;
}

/** What a commit records besides the validated input. */
export interface CommitContext {
  idempotencyKey: string | null;
  now: number;
  adjusts: AdjustedDelta | null;
  failure: string | null;
}

/** The first commit of a referenceId: what later batch items are compared with. */
interface ReferenceEntry {
  contentFingerprint: string;
  delta: StoredDelta;
}

/**
 * All state a client can observe. Per-request work is O(1) appends and map lookups; copying happens
 * only in snapshot().
 */
export class Ledger {
  private deltas: StoredDelta[] = [];
  private byRecordId = new Map<string, StoredDelta>();
  private byCustomer = new Map<string, StoredDelta[]>();
  private byReference = new Map<string, ReferenceEntry>();
  private checkpoints = new Map<string, CheckpointRecord>();
  private log: RequestLog<LoggedRequest>;
  private seq = 0;
  private counts = { replayed: 0, pending: 0, conflicts: 0, faults: 0, itemFaults: 0 };

  constructor(
    maxRequestLog: number,
    private readonly pace: ResolvedPace,
  ) {
    this.log = new RequestLog(maxRequestLog);
  }

  /** Appends a delta and returns it. */
  commit(input: DeltaInput, { idempotencyKey, now, adjusts, failure }: CommitContext): StoredDelta {
    const recordId = `rec_${this.deltas.length + 1}`;
    const stored: StoredDelta = {
      recordId,
      receiptId: `0x${sha256Hex(`${recordId}|${input.customerId}|${input.delta}|${input.reason}|${input.referenceId ?? ''}`)}`,
      customerId: input.customerId,
      delta: input.delta,
      reason: input.reason,
      referenceId: input.referenceId,
      metadata: input.metadata,
      adjusts,
      idempotencyKey,
      committedAt: new Date(now).toISOString(),
      ms: now,
      failure,
    };
    this.deltas.push(stored);
    this.byRecordId.set(recordId, stored);
    const list = this.byCustomer.get(input.customerId);
    if (list) list.push(stored);
    else this.byCustomer.set(input.customerId, [stored]);
    if (input.referenceId !== null && !this.byReference.has(input.referenceId)) {
      this.byReference.set(input.referenceId, { contentFingerprint: contentFingerprint(input), delta: stored });
    }
    return stored;
  }

  /** The first delta committed with this referenceId, and whether `input` has the same content. */
  findByReference(input: DeltaInput): { delta: StoredDelta; sameContent: boolean } | undefined {
    if (input.referenceId === null) return undefined;
    const entry = this.byReference.get(input.referenceId);
    return entry && { delta: entry.delta, sameContent: entry.contentFingerprint === contentFingerprint(input) };
  }

  /** The delta as a reader sees it at `now`: status, settle time and error filled in. */
  view(d: StoredDelta, now: number): LedgerDelta {
    const { ms, failure, metadata, ...rest } = d;
    const { status, settledMs } = statusAt(ms, failure, this.pace, now);
    return {
      ...rest,
      metadata: metadata && structuredClone(metadata),
      status,
      settledAt: settledMs === null ? null : new Date(settledMs).toISOString(),
      error: status === 'FAILED' ? failure : null,
    };
  }

  /** Whether the delta counts towards balances at `now`: only VERIFIED ones do, as on PacSpace. */
  isVerified(d: StoredDelta, now: number): boolean {
    return statusAt(d.ms, d.failure, this.pace, now).status === 'VERIFIED';
  }

  /** The first delta committed with this referenceId. */
  findReference(referenceId: string): StoredDelta | undefined {
    return this.byReference.get(referenceId)?.delta;
  }

  findRecord(recordId: string): StoredDelta | undefined {
    return this.byRecordId.get(recordId);
  }

  /** Deltas of one customer in commit order (the live array: callers must not mutate it). */
  customerDeltas(customerId: string): readonly StoredDelta[] {
    return this.byCustomer.get(customerId) ?? [];
  }

  allDeltas(): readonly StoredDelta[] {
    return this.deltas;
  }

  findCheckpoint(scopeKey: string): CheckpointRecord | undefined {
    return this.checkpoints.get(scopeKey);
  }

  addCheckpoint(scopeKey: string, checkpoint: CheckpointRecord): void {
    this.checkpoints.set(scopeKey, checkpoint);
  }

  /** Records a finished request and bumps the counters its outcome belongs to. */
  logRequest(entry: Omit<LoggedRequest, 'seq' | 'at'>, now: number): void {
    const { outcome } = entry;
    if (outcome === 'replayed') this.counts.replayed++;
    else if (outcome === 'pending') this.counts.pending++;
    else if (outcome === 'conflict') this.counts.conflicts++;
    else if (outcome.startsWith('fault:')) this.counts.faults++;
    this.counts.itemFaults += entry.items?.faulted ?? 0;
    this.log.push({ ...entry, seq: ++this.seq, at: now });
  }

  reset(): void {
    this.deltas = [];
    this.byRecordId.clear();
    this.byCustomer.clear();
    this.byReference.clear();
    this.checkpoints.clear();
    this.log.clear();
    this.seq = 0;
    this.counts = { replayed: 0, pending: 0, conflicts: 0, faults: 0, itemFaults: 0 };
  }

  snapshot(now = Date.now()): LedgerSnapshot {
    return {
      deltas: this.deltas.map((d) => this.view(d, now)),
      ...this.snapshotRequests(Infinity),
      checkpoints: [...this.checkpoints.values()].map((c) => ({ ...c })),
    };
  }

  /** The counters and the newest `limit` requests (oldest first). */
  snapshotRequests(limit: number): Pick<LedgerSnapshot, 'requests' | 'counts'> {
    return {
      requests: this.log.toArray(limit).map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      counts: {
        requests: this.seq,
        committed: this.deltas.length,
        ...this.counts,
        requestLogDropped: this.log.dropped,
      },
    };
  }
}

/** What "the same content" means for a referenceId seen again. */
function contentFingerprint(input: DeltaInput): string {
  return sha256Hex(canonicalJson([input.customerId, input.delta, input.reason, input.referenceId, input.metadata, input.adjusts]));
}

/**
 * ReferenceIds that were committed more than once: with an idempotent client this is always empty.
 *
 * @example
 * expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
 */
export function duplicateReferenceIds(snapshot: Pick<LedgerSnapshot, 'deltas'>): string[] {
  const seen = new Map<string, number>();
  for (const d of snapshot.deltas) {
    if (d.referenceId !== null) seen.set(d.referenceId, (seen.get(d.referenceId) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

/**
 * Net committed delta per customer.
 *
 * @example
 * expect(sumByCustomer(sandbox.ledger())).toEqual({ cust_1: 3 });
 */
export function sumByCustomer(snapshot: Pick<LedgerSnapshot, 'deltas'>): Record<string, number> {
  // A Map, then fromEntries: a customer id such as "__proto__" must stay an ordinary key.
  const sums = new Map<string, number>();
  for (const d of snapshot.deltas) sums.set(d.customerId, (sums.get(d.customerId) ?? 0) + d.delta);
  return Object.fromEntries(sums);
}
