import { errorColumns, MemoryStore, MeteringConfigError, warnAtMostEveryMinute, type DeltaInput, type Meter, type MeterStore, type QueuedDelta, type StoreAttachment, type StoreIdentity } from '@pacspace-metering/core';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg, { type ClientBase, type Pool } from 'pg';
import { messageOf, PostgresStoreError } from './errors.js';
import { undeliveredByOthers } from './fleet-pending.js';
import { LeaseKeeper, type StoreProblem } from './lease-keeper.js';
import { resolvePostgresStoreOptions, type PostgresStoreOptions, type ResolvedPostgresStoreOptions } from './options.js';
import { OutboxTable } from './outbox-table.js';
import { loadRow, type OutboxRow } from './rows.js';
import { migrate } from './schema.js';
import { insertPrepared, type InsertedDelta } from './transactional.js';
import { Writer } from './writer.js';

/**
 * A lease from the table takes up to this many batches' worth of rows: the first batch goes to the
 * Meter, the rest wait in this instance (leased by it, renewed) for its next batches, so a backlog
 * costs one lease query per this many batches.
 */
const LEASE_AHEAD = 4;
/** What `dueCount` adds while a poll of the table is due: unknown, so the Meter should not wait to fill a batch first. */
const UNKNOWN_BACKLOG = 1_000_000;
/** `refreshBacklog` counts due rows up to this many: enough to know a flush must wait, without scanning a huge backlog. */
const COUNT_AT_MOST = 100_000;

/**
 * A durable, shared {@link MeterStore} on PostgreSQL: every instance of an API writes its accepted
 * deltas to one `outbox` table, and any live instance of the same Meter (scope and account)
 * delivers what is due.
 *
 * - **Own deltas first.** A delta accepted here is inserted leased by this instance (group commit:
 *   one INSERT per turn of the event loop; `add` answers a Promise of its durability, which the
 *   framework packages wait for before the response's bytes leave) and delivered from memory.
 * - **The table is the queue.** Memory holds at most the Meter's `maxQueueSize` deltas
 *   (`maxQueueBytes` bytes). A delta beyond that, or accepted while due rows wait in the table, is
 *   inserted unleased, just as durably, and leased (by this instance or another) once one has room:
 *   a full queue never folds deltas into sums with a durable store.
 * - **Leases.** This instance renews its leases every `leaseMs / 3`. Every `pollIntervalMs`, busy
 *   or not, it looks for due rows of its Meter nobody holds (an expired lease: a dead instance; no
 *   lease: a delta beyond a window, a replayed dead letter, a delta enqueued in a transaction),
 *   taking them with one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)
 *   RETURNING ...`: two instances never lease the same row, and the frozen body and key go with it.
 * - **Rows belong to a Meter.** Every row carries the scope and account of the Meter that accepted
 *   it (see {@link StoreIdentity}); a Meter leases only its own, so services sharing a schema never
 *   deliver each other's usage. Rows of the same scope but another account are reported at start.
 *   A leased row whose body is not its delta is never sent: it goes to the dead letters (reason
 *   `corrupt`) and is reported (`STORE_CORRUPT`).
 * - **Write-behind settles.** Delivered, rescheduled and dead-lettered rows are written within
 *   `settleDelayMs`, in one transaction; `close()` writes them and hands this instance's remaining
 *   rows back (lease cleared) so another instance, or the next start, sends them at once.
 * - **Transactional enqueue.** {@link PostgresStore.enqueueInTransaction} writes a delta with your
 *   own client inside your own `BEGIN ... COMMIT`: it exists if and only if your transaction commits.
 *
 * Create it with {@link createPostgresStore}, which runs the migrations first.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { createPostgresStore } from '@pacspace-metering/postgres-store';
 *
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, store });
 */
export class PostgresStore implements MeterStore {
  /** Always true: accepted deltas survive a crash, on any instance. */
  readonly durable = true;
  /** The schema of the outbox tables. */
  readonly schema: string;
  /** This instance's lease owner name (`host:pid:random`), as written in `lease_owner`. */
  readonly owner: string;
  /** The pool the store queries through. */
  readonly pool: Pool;
  private readonly config: ResolvedPostgresStoreOptions;
  private readonly ownsPool: boolean;
  /** This instance's deltas: accepted here, or leased from the table and given back for a retry. */
  private readonly index = new MemoryStore();
  /** Rows leased from the table and handed to the Meter, not yet settled. */
  private readonly remote = new Set<QueuedDelta>();
  private remoteBytes = 0;
  private readonly writer: Writer;
  private readonly table: OutboxTable;
  private readonly reportError: (error: PostgresStoreError) => void;
  private nextPollAt = 0;
  /**
   * Due rows of this Meter in the table that nobody holds, as of the last count or lease, plus
   * those this instance kept in the table since: what `backlog()` answers.
   */
  private tableBacklog = 0;
  /** Deltas ever kept in the table beyond the window (a counter, to tell those added during a lease). */
  private keptInTable = 0;
  /** Leases from the table ever started (a counter, to tell a count that raced one). */
  private leasesStarted = 0;
  /** While a lease runs: the referenceIds kept in the table meanwhile (the lease may take some of them already). */
  private keptDuringLease: Set<string> | undefined;
  /** The Meter it serves (set by `attach`). */
  private identity: StoreIdentity | undefined;
  /** The memory window: the Meter's `maxQueueSize` and `maxQueueBytes`. */
  private window = { maxCount: Infinity, maxBytes: Infinity };
  private readonly leases: LeaseKeeper;
  private open = true;
  /** Something was inserted or leased: close() has rows to hand back. */
  private holdsRows = false;
  /** A lease query under way: close() waits for it, so that what it leases is handed back too. */
  private leasing: Promise<unknown> | undefined;

  /** Use {@link createPostgresStore} (it runs the migrations first). Throws `MeteringConfigError` naming a bad option. */
  constructor(options: PostgresStoreOptions) {
    this.config = resolvePostgresStoreOptions(options);
    this.schema = this.config.schema;
    this.ownsPool = this.config.pool === undefined;
    // A database that hangs must fail the write (reported; the answer goes out) rather than hold answers forever.
    this.pool = this.config.pool ?? new pg.Pool({ connectionString: this.config.connectionString, max: this.config.poolSize, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 });
    // An idle connection that fails (the server restarted) must not crash the process.
    if (this.ownsPool) this.pool.on('error', (error) => this.failed('STORE_UNAVAILABLE', `an idle connection failed (${messageOf(error)})`, error));
    this.owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.reportError = this.config.onError ?? warnAtMostEveryMinute();
    this.writer = new Writer(this.pool, this.schema, this.owner, this.config.leaseMs, this.config.settleDelayMs, this.config.maxPendingWrites, (error) => this.report(error));
    this.table = new OutboxTable(this.pool, this.schema, this.owner);
    this.leases = new LeaseKeeper(this.table, this.config.leaseMs, this.failed);
  }

  /**
   * Called by `createMeter`: rows are tagged with the Meter's scope and account from now on, only
   * rows of that Meter are leased, and memory holds at most `maxCount` deltas. Rows of the same
   * scope that another account accepted (left by a Meter with another API key) are reported as
   * `STORE_FOREIGN_ROWS`, never delivered. Throws when the store already serves a Meter.
   */
  attach(meter: StoreAttachment): void {
    if (this.identity !== undefined) throw new MeteringConfigError('store', 'this Postgres store already serves another Meter: create one store per Meter');
    const identity: StoreIdentity = Object.freeze({ scope: meter.scope, account: meter.account });
    this.identity = identity;
    this.writer.identify(identity);
    this.table.identify(identity);
    this.window = { maxCount: meter.maxCount, maxBytes: meter.maxBytes };
    void this.reportOtherAccounts(identity);
  }

  /**
   * Queues the delta for the next group commit and, while the memory window has room, for
   * delivery from memory (inserted leased by this instance); beyond it, the row is inserted
   * unleased, for the next lease with room. Answers a Promise that resolves once the row is
   * committed and rejects with `STORE_WRITE_FAILED` when it could not be (the Meter reports it; a
   * delta in memory is still delivered while this process lives, one beyond it is dropped, as
   * `notHeld`). Throws `STORE_WRITE_FAILED` when the store is closed or the write-behind buffer is
   * full (`maxPendingWrites`): the Meter then refuses it as `store_failed`.
   */
  add(item: QueuedDelta): Promise<void> {
    if (!this.open) throw new PostgresStoreError('STORE_WRITE_FAILED', this.schema, 'the store is closed; no delta can be added');
    if (!this.beyondWindow(item)) {
      const written = this.writer.insert(item);
      this.holdsRows = true;
      this.index.add(item);
      return written;
    }
    const written = this.writer.insert(item, false);
    this.tableBacklog++;
    this.keptInTable++;
    this.keptDuringLease?.add(item.referenceId);
    return written.catch((error: unknown) => this.notKept(item, error));
  }

  /** Due rows wait in the table (first come, first served), or the memory window is full. */
  private beyondWindow(item: QueuedDelta): boolean {
    if (this.identity === undefined) return false;
    return this.tableBacklog > 0 || this.count() >= this.window.maxCount || this.bytes() + item.bytes > this.window.maxBytes;
  }

  /** Room in the memory window, in deltas. */
  private room(): number {
    return this.bytes() >= this.window.maxBytes ? 0 : this.window.maxCount - this.count();
  }

  /** A delta meant for the table only could not be written: held in memory if there is room now (not durable), else lost. */
  private notKept(item: QueuedDelta, error: unknown): never {
    this.tableBacklog = Math.max(0, this.tableBacklog - 1);
    if (this.open && this.room() > 0) {
      this.index.add(item);
      throw error;
    }
    const lost = new PostgresStoreError('STORE_WRITE_FAILED', this.schema, `a delta beyond the memory window could not be written (${messageOf(error)}), and memory is full: it is dropped`, { cause: error });
    throw Object.assign(lost, { notHeld: true });
  }

  /**
   * When the poll is due (every `pollIntervalMs`) and memory has room, rows of this Meter that
   * nobody holds (one statement, `FOR UPDATE SKIP LOCKED`), topped up with this instance's own due
   * deltas; otherwise its own due deltas, and more rows from the table while it knows of some.
   * Never rejects: a failed lease is reported and answers this instance's own due deltas.
   */
  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] | Promise<QueuedDelta[]> {
    const room = this.open ? this.room() : 0;
    // A due poll goes first even when this instance is busy with its own deltas: otherwise, under
    // steady traffic, no instance would ever take over the rows of one that died.
    if (room > 0 && now >= this.nextPollAt) return this.track(this.leaseFromTable(now, maxCount, maxBytes, pausedUntil, room));
    const local = this.index.leaseBatch(now, maxCount, maxBytes, pausedUntil);
    if (local.length > 0 || room <= 0 || this.tableBacklog === 0) return local;
    return this.track(this.leaseFromTable(now, maxCount, maxBytes, pausedUntil, room));
  }

  private track<T>(lease: Promise<T>): Promise<T> {
    this.leasing = lease;
    // then(clear, clear), not finally(): a rejection is the Meter's to handle, not a second, unhandled one here.
    const clear = (): void => {
      if (this.leasing === lease) this.leasing = undefined;
    };
    lease.then(clear, clear);
    return lease;
  }

  /**
   * This instance's due deltas, plus, while memory has room, those the table holds: as many as
   * it knows of (a backlog), or an unknown number while its poll is due (so the Meter asks at
   * once, rather than lingering to fill a batch); none between polls after a short lease.
   */
  dueCount(now: number): number {
    const own = this.index.dueCount(now);
    if (!this.open || this.room() <= 0) return own;
    if (this.tableBacklog > 0) return own + this.tableBacklog;
    return own + (now >= this.nextPollAt ? UNKNOWN_BACKLOG : 0);
  }

  remove(item: QueuedDelta): void {
    this.forget(item);
    if (this.open) this.writer.settle({ kind: 'delete', item });
  }

  /** Back to this instance's queue for another attempt at `item.dueAt`; the row stays leased by this instance. */
  release(item: QueuedDelta, now: number): void {
    if (this.remote.delete(item)) {
      this.remoteBytes -= item.bytes;
      this.index.add(item);
    } else this.index.release(item, now);
    if (this.open) this.writer.settle({ kind: 'reschedule', item });
  }

  /** Moves a leased delta to `dead_letters` with the reason and `error`'s code, status and message. */
  deadLetter(item: QueuedDelta, reason: string, error: Error): void {
    this.forget(item);
    if (this.open) this.writer.settle({ kind: 'bury', item, reason, error: errorColumns(error), at: Date.now() });
  }

  takeWaiting(): QueuedDelta[] {
    const taken = this.index.takeWaiting();
    if (this.open) for (const item of taken) this.writer.settle({ kind: 'delete', item });
    return taken;
  }

  /** This instance's deltas (accepted here and not settled, or leased from the table). */
  count(): number {
    return this.index.count() + this.remote.size;
  }

  bytes(): number {
    return this.index.bytes() + this.remoteBytes;
  }

  /** Due rows of this Meter in the table beyond memory, as of its last count or lease (and those it kept there since). */
  backlog(): number {
    return this.tableBacklog;
  }

  /** Counts the due rows of this Meter nobody holds (what an earlier run left, say), so a flush waits for them and the next lease takes them at once. */
  async refreshBacklog(): Promise<void> {
    if (!this.open) return;
    const keptBefore = this.keptInTable;
    const leasesBefore = this.leasesStarted;
    const leasing = this.leasing;
    try {
      const counted = await this.table.countLeasable(Date.now(), COUNT_AT_MOST);
      // A lease that ran during the count set the backlog itself, and the count may include the
      // rows it took into memory: taking the count then would hold them twice in stats().queued.
      if (leasing !== undefined || this.leasesStarted !== leasesBefore) return;
      this.tableBacklog = counted + (this.keptInTable - keptBefore);
      if (this.tableBacklog > 0) this.nextPollAt = 0;
    } catch (error) {
      this.failed('STORE_UNAVAILABLE', `could not count the rows waiting in the outbox (${messageOf(error)})`, error);
    }
  }

  /** The earliest due time of this instance's deltas, or (while memory has room) when it next looks at the table. */
  nextDueAt(): number | undefined {
    const own = this.index.nextDueAt();
    if (!this.open || this.room() <= 0) return own;
    const table = this.tableBacklog > 0 ? 0 : this.nextPollAt;
    return own === undefined ? table : Math.min(own, table);
  }

  oldestAcceptedAt(): number | undefined {
    let oldest = this.index.oldestAcceptedAt();
    for (const item of this.remote) if (oldest === undefined || item.acceptedAt < oldest) oldest = item.acceptedAt;
    return oldest;
  }

  list(): QueuedDelta[] {
    return [...this.index.list(), ...this.remote];
  }

  /** Rows waiting in the write-behind buffer (accepted deltas not yet committed, and settles). */
  pendingWrites(): number {
    return this.writer.pending();
  }

  /**
   * Validates and freezes a delta with the Meter (`meter.prepare`, exactly as `enqueue` would) and
   * inserts it with **your** client, inside your open transaction: it exists if and only if your
   * transaction commits, and then any instance of that Meter delivers it (within
   * `pollIntervalMs`), once. Throws the Meter's typed error for a bad delta
   * (`DeltaValidationError`), or what Postgres threw (your transaction is then aborted, as for any
   * failed statement).
   *
   * @param client - a pg client (from `pool.connect()`) on which you ran `BEGIN`.
   * @param meter - the Meter whose scope builds the referenceId and whose instances deliver it.
   * @param input - the delta, as for `meter.enqueue`.
   *
   * @example
   * import { inTransaction } from '@pacspace-metering/postgres-store';
   *
   * await inTransaction(pool, async (client) => {
   *   await client.query('INSERT INTO orders (id, customer_id) VALUES ($1, $2)', [orderId, customerId]);
   *   await store.enqueueInTransaction(client, meter, { customerId, delta: -1, reason: 'order_placed', requestId: orderId });
   * }); // committed: the order and its delta, or neither
   */
  async enqueueInTransaction(client: ClientBase, meter: Meter, input: DeltaInput): Promise<InsertedDelta> {
    if (typeof meter?.prepare !== 'function') throw new TypeError('enqueueInTransaction: meter must be a Meter from createMeter() (it has no prepare())');
    const prepared = meter.prepare(input);
    const inserted = await insertPrepared(client, prepared, { schema: this.schema });
    this.nextPollAt = 0; // once the caller commits, the next wake looks at the table
    return inserted;
  }

  /**
   * For a balance gate in a fleet (`createBalanceGate(meter, { fleetPending })` of
   * `@pacspace-metering/core`): the net of the deltas the other instances have accepted for
   * `customerId` and not delivered yet (rows this instance holds are its own Meter's, counted
   * there). One query per balance refresh; rejects with what Postgres threw (the gate keeps its
   * last value and reports it).
   *
   * @example
   * const gate = createBalanceGate(meter, { fleetPending: (customerId) => store.undeliveredByOthers(customerId) });
   */
  undeliveredByOthers(customerId: string): Promise<number> {
    return undeliveredByOthers(this.pool, this.schema, this.owner, customerId);
  }

  /**
   * Writes every pending change, hands the rows this instance still holds back to the table (their
   * lease cleared: another instance, or the next start, sends them at once) and ends the pool the
   * store created. Idempotent. Calls that arrive afterwards change only memory.
   */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.leases.stop();
    await this.leasing;
    await this.writer.flush();
    if (this.holdsRows) try {
      await this.table.handBack();
    } catch (error) {
      this.failed('STORE_WRITE_FAILED', `could not hand this instance's rows back (${messageOf(error)}); other instances take them when their lease expires`, error);
    }
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  private forget(item: QueuedDelta): void {
    if (this.remote.delete(item)) this.remoteBytes -= item.bytes;
    else this.index.remove(item);
  }

  private async leaseFromTable(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number, room: number): Promise<QueuedDelta[]> {
    this.leasesStarted++;
    this.nextPollAt = now + this.config.pollIntervalMs;
    this.holdsRows = true;
    const limit = Math.min(maxCount * LEASE_AHEAD, room);
    const keptBefore = this.keptInTable;
    const keptMeanwhile = new Set<string>();
    this.keptDuringLease = keptMeanwhile;
    let rows: OutboxRow[];
    try {
      rows = await this.table.lease(now, limit, this.config.leaseMs);
    } catch (error) {
      this.keptDuringLease = undefined;
      // Not known until the next poll: no lease again before it, which would hammer a failing database.
      this.tableBacklog = 0;
      this.failed('STORE_UNAVAILABLE', `could not lease rows from the outbox (${messageOf(error)}); trying again in ${this.config.pollIntervalMs} ms`, error);
      return this.index.leaseBatch(now, maxCount, maxBytes, pausedUntil);
    }
    this.keptDuringLease = undefined;
    // A short lease took every row there was, a full one leaves some; plus what was kept in the
    // table meanwhile and not already taken by this lease (counted once, in memory).
    const takenMeanwhile = rows.reduce((n, row) => n + (keptMeanwhile.has(row.reference_id) ? 1 : 0), 0);
    const leftBefore = rows.length < limit ? 0 : Math.max(this.tableBacklog - rows.length, 1);
    this.tableBacklog = leftBefore + Math.max(0, this.keptInTable - keptBefore - takenMeanwhile);
    return this.hold(rows, now, maxCount, maxBytes, pausedUntil);
  }

  /**
   * Leased rows: the first batch's worth goes to the Meter, the rest wait in memory, leased by this
   * instance; topped up with its own due deltas. A row whose body is not its delta goes to the dead letters.
   */
  private hold(rows: OutboxRow[], now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] {
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const batch: QueuedDelta[] = [];
    const corrupt: string[] = [];
    let bytes = 0;
    for (const row of rows) {
      const { item, problem } = loadRow(row);
      this.writer.adopt(item, Number(row.id));
      if (problem !== undefined) {
        corrupt.push(this.bury(item, problem));
        continue;
      }
      const pause = pausedUntil(item.customerId);
      const fits = batch.length === 0 || (batch.length < maxCount && bytes + item.bytes <= maxBytes);
      if (!this.open || pause > now || !fits) {
        // Held by this instance now: sent with its next batch, or when the customer's pause ends.
        if (pause > now) item.dueAt = Math.max(item.dueAt, pause);
        this.index.add(item);
        continue;
      }
      this.remote.add(item);
      this.remoteBytes += item.bytes;
      batch.push(item);
      bytes += item.bytes;
    }
    if (corrupt.length > 0) this.failed('STORE_CORRUPT', `${corrupt.join('; ')}: moved to the dead letters (reason corrupt), never sent. Inspect them with: pacspace-metering dead-letters list --postgres URL --schema ${this.schema} --reason corrupt`, undefined);
    // Room left in the batch: this instance's own due deltas fill it.
    if (batch.length < maxCount) batch.push(...this.index.leaseBatch(now, maxCount - batch.length, batch.length === 0 ? maxBytes : maxBytes - bytes, pausedUntil));
    return batch;
  }

  /** A leased row whose body is not its delta, moved to the dead letters; answers what to report of it. */
  private bury(item: QueuedDelta, problem: string): string {
    const what = `outbox row ${item.seq} holds ${problem}`;
    this.writer.settle({ kind: 'bury', item, reason: 'corrupt', error: { code: 'STORE_CORRUPT', status: null, message: what }, at: Date.now() });
    return what;
  }

  /** Says, once at start, how many rows of this Meter's scope nobody holds that another account accepted: this Meter never delivers them. */
  private async reportOtherAccounts(identity: StoreIdentity): Promise<void> {
    let others: Array<{ account: string; rows: number }>;
    try {
      others = await this.table.otherAccounts();
    } catch (error) {
      this.failed('STORE_UNAVAILABLE', `could not check the outbox for rows of other accounts (${messageOf(error)})`, error);
      return;
    }
    if (others.length === 0) return;
    const total = others.reduce((n, o) => n + o.rows, 0);
    this.failed(
      'STORE_FOREIGN_ROWS',
      `${total} undelivered row(s) of scope "${identity.scope}" belong to another account (${others.map((o) => `${o.account}: ${o.rows}`).join(', ')}), not to this Meter's (${identity.account}): they are not delivered with this key. A Meter with that account delivers them; if it is the same PacSpace account with a new API key, give this Meter the option account: '${others[0]!.account}' (see "Rows belong to a Meter" in the README).`,
      undefined,
    );
  }

  private readonly failed: StoreProblem = (code, message, cause) => {
    this.report(new PostgresStoreError(code, this.schema, message, cause === undefined ? undefined : { cause }));
  };

  private report(error: PostgresStoreError): void {
    try {
      this.reportError(error);
    } catch {
      // A throwing onError must not break delivery.
    }
  }
}

/**
 * Creates a {@link PostgresStore} and brings its tables up to date first ({@link migrate}: safe
 * when several instances start at once). Rejects with `MeteringConfigError` naming a bad option,
 * or {@link PostgresStoreError} when the database cannot be reached or holds a newer schema.
 *
 * @param options - `connectionString` or `pool` (one is required); `schema` (default
 *   `'pacspace_metering'`), `leaseMs` (30000), `pollIntervalMs` (500), `settleDelayMs` (10),
 *   `maxPendingWrites` (10000), `poolSize` (4), `onError` (default: a process warning, at most one a minute).
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { createPostgresStore } from '@pacspace-metering/postgres-store';
 *
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, store });
 * // Every instance on the same database shares the outbox; survivors send what a dead one left.
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await migrate(store.pool, store.schema);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

