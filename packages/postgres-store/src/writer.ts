import { errorColumns, type QueuedDelta, type StoreIdentity } from '@pacspace-metering/core';
import type { Pool } from 'pg';
import { messageOf, PostgresStoreError } from './errors.js';
import { inTransaction } from './in-transaction.js';
import { tableNames, type TableNames } from './sql-names.js';

/** Rows per INSERT statement (a group commit larger than this takes several statements, in order). */
const INSERT_CHUNK = 1_000;
/** After a failed settle write, wait this long before trying again. */
const RETRY_AFTER_MS = 1_000;

type Settle =
  | { kind: 'delete'; item: QueuedDelta }
  | { kind: 'reschedule'; item: QueuedDelta }
  | { kind: 'bury'; item: QueuedDelta; reason: string; error: ReturnType<typeof errorColumns>; at: number };

interface PendingInsert {
  item: QueuedDelta;
  /** Inserted leased by this instance (held in its memory), or unleased (kept in the table only). */
  leased: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The write side of the Postgres store, behind the Meter: one writer, in order.
 *
 * - Inserts (accepted deltas) are group-committed: every delta added within one turn of the event
 *   loop goes in one multi-row INSERT, and each `insert()` promise resolves once its row is
 *   committed (rejects when it could not be). The rows are inserted leased by this instance, or
 *   unleased (a delta beyond the memory window: the next lease with room takes it), and tagged
 *   with the Meter's scope and account.
 * - Settles (delivered, rescheduled, dead-lettered) are written behind, within `settleDelayMs`,
 *   in one transaction that first locks its rows in id order, as every statement of this store
 *   that locks several rows does (or it skips locked ones): two of them never wait for each other
 *   in a cycle. A failed one is kept and tried again a second later.
 * - Both count against `maxPendingWrites`: `insert` throws when the buffer is full.
 *
 * A row's id is known once its insert commits (`rowId`); a settle of a delta whose insert failed
 * has no row to change and is skipped.
 *
 * @example
 * const writer = new Writer(pool, 'pacspace_metering', owner, 30_000, 10, 10_000, onError);
 * writer.identify({ scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60' });
 * await writer.insert(item); // committed
 * writer.settle({ kind: 'delete', item }); // written within 10 ms
 * await writer.flush();
 */
export class Writer {
  private inserts: PendingInsert[] = [];
  private settles: Settle[] = [];
  private readonly rowIds = new WeakMap<QueuedDelta, number>();
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private insertScheduled = false;
  private identity: StoreIdentity | undefined;
  private readonly t: TableNames;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly settleDelayMs: number,
    private readonly maxPending: number,
    private readonly failed: (error: PostgresStoreError) => void,
  ) {
    this.t = tableNames(schema);
  }

  /** The Meter whose rows this writer writes: every row inserted or buried from now on is tagged with it. */
  identify(identity: StoreIdentity): void {
    this.identity = identity;
  }

  /** Rows waiting to be written. */
  pending(): number {
    return this.inserts.length + this.settles.length;
  }

  /** The row id of a delta, once its insert committed (or when it was leased from the table). */
  rowId(item: QueuedDelta): number | undefined {
    return this.rowIds.get(item);
  }

  /** Records the row id of a delta leased from the table. */
  adopt(item: QueuedDelta, id: number): void {
    this.rowIds.set(item, id);
  }

  /**
   * Queues an accepted delta for the next group commit, leased by this instance or (`leased`
   * false) for whichever instance leases it. Throws `STORE_WRITE_FAILED` when the buffer is full.
   */
  insert(item: QueuedDelta, leased = true): Promise<void> {
    if (this.pending() >= this.maxPending) {
      throw new PostgresStoreError('STORE_WRITE_FAILED', this.schema, `the write-behind buffer is full (maxPendingWrites ${this.maxPending}): the database does not keep up or does not answer, so the delta was not accepted`);
    }
    const written = new Promise<void>((resolve, reject) => this.inserts.push({ item, leased, resolve, reject }));
    if (!this.insertScheduled) {
      this.insertScheduled = true;
      setImmediate(() => {
        this.insertScheduled = false;
        this.kick();
      });
    }
    return written;
  }

  /** Queues a settle, written within `settleDelayMs`. Never throws. */
  settle(op: Settle): void {
    this.settles.push(op);
    if (this.settleDelayMs === 0) this.kick();
    else this.schedule(this.settleDelayMs);
  }

  /** Writes everything pending now and resolves when it is written (or has failed and been reported). */
  async flush(): Promise<void> {
    while (this.running || this.pending() > 0) {
      if (!this.running) this.kick();
      await this.running;
      if (this.lastRunFailed) return;
    }
  }

  private lastRunFailed = false;

  private kick(): void {
    if (this.running) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      // What arrived while writing: inserts at once, settles within their delay.
      if (this.inserts.length > 0) this.kick();
      else if (this.settles.length > 0 && !this.lastRunFailed) this.schedule(this.settleDelayMs);
    });
  }

  /** Inserts first (a settle may name a row whose insert was queued before it), then settles, with the next insert or when their delay is up. */
  private async run(): Promise<void> {
    this.lastRunFailed = false;
    while (this.inserts.length > 0) await this.writeInserts(this.inserts.splice(0, INSERT_CHUNK));
    if (this.settles.length > 0) {
      const ops = this.settles;
      this.settles = [];
      try {
        await this.writeSettles(ops);
      } catch (error) {
        this.lastRunFailed = true;
        // Kept, in order, for the next attempt; the oldest beyond the bound are given up (a resend or an earlier retry, never a lost delta).
        this.settles = [...ops, ...this.settles];
        const excess = this.settles.length - this.maxPending;
        if (excess > 0) this.settles.splice(0, excess);
        this.failed(new PostgresStoreError('STORE_WRITE_FAILED', this.schema, `${ops.length} delivery result(s) could not be written (${messageOf(error)}); they are tried again in ${RETRY_AFTER_MS} ms${excess > 0 ? `, ${excess} given up (those rows may be sent again, under their own keys)` : ''}`, { cause: error }));
        this.schedule(RETRY_AFTER_MS);
      }
    }
  }

  /**
   * One group commit. A group that fails is not failed as a whole at once: a failure of the
   * connection or server is tried once more; a row the database refuses (a data or constraint
   * error) is isolated by halving the group, so the other deltas of its turn are still made durable.
   */
  private async writeInserts(batch: PendingInsert[], retried = false): Promise<void> {
    try {
      const ids = await this.insertRows(batch);
      batch.forEach(({ item, resolve }, i) => {
        this.rowIds.set(item, ids[i]!);
        resolve();
      });
    } catch (error) {
      if (isRowError(error) && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.writeInserts(batch.slice(0, half), true);
        await this.writeInserts(batch.slice(half), true);
        return;
      }
      if (!retried && !isRowError(error)) return this.writeInserts(batch, true);
      const wrapped = new PostgresStoreError('STORE_WRITE_FAILED', this.schema, `${batch.length} accepted delta(s) could not be written (${messageOf(error)}); they stay in memory and are still delivered, but a crash would lose them`, { cause: error });
      for (const { reject } of batch) reject(wrapped);
    }
  }

  /** Inserts the rows in one statement, each leased by this instance or not; answers their ids in order. */
  private async insertRows(batch: PendingInsert[]): Promise<number[]> {
    const cols = { ref: [] as string[], customer: [] as string[], body: [] as string[], bytes: [] as number[], accepted: [] as number[], attempts: [] as number[], due: [] as number[], leased: [] as boolean[] };
    for (const { item, leased } of batch) {
      cols.ref.push(item.referenceId);
      cols.customer.push(item.customerId);
      cols.body.push(item.body);
      cols.bytes.push(item.bytes);
      cols.accepted.push(item.acceptedAt);
      cols.attempts.push(item.attempts);
      cols.due.push(item.dueAt);
      cols.leased.push(leased);
    }
    // Ids come from the sequence in ORDER BY order, so the i-th smallest id is the i-th row.
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${this.t.outbox} (reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, lease_owner, lease_until, scope, account)
       SELECT r, c, b, n, a, a, t, d, CASE WHEN l THEN $9 END, CASE WHEN l THEN clock_timestamp() + $10 * interval '1 millisecond' END, $11, $12
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::int[], $7::bigint[], $8::bool[]) WITH ORDINALITY AS u(r, c, b, n, a, t, d, l, ord)
       ORDER BY ord
       RETURNING id`,
      [cols.ref, cols.customer, cols.body, cols.bytes, cols.accepted, cols.attempts, cols.due, cols.leased, this.owner, this.leaseMs, this.identity?.scope ?? null, this.identity?.account ?? null],
    );
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  private async writeSettles(ops: Settle[]): Promise<void> {
    const deleted: number[] = [];
    const rescheduled = { id: [] as number[], attempts: [] as number[], due: [] as number[] };
    const buried = { id: [] as number[], ref: [] as string[], customer: [] as string[], body: [] as string[], bytes: [] as number[], accepted: [] as number[], attempts: [] as number[], reason: [] as string[], code: [] as Array<string | null>, status: [] as Array<number | null>, message: [] as string[], at: [] as number[] };
    for (const op of ops) {
      const id = this.rowIds.get(op.item);
      if (id === undefined) continue; // its insert failed: no row to change
      if (op.kind === 'delete') deleted.push(id);
      else if (op.kind === 'reschedule') {
        rescheduled.id.push(id);
        rescheduled.attempts.push(op.item.attempts);
        rescheduled.due.push(op.item.dueAt);
      } else {
        const { item } = op;
        buried.id.push(id);
        buried.ref.push(item.referenceId);
        buried.customer.push(item.customerId);
        buried.body.push(item.body);
        buried.bytes.push(item.bytes);
        buried.accepted.push(item.acceptedAt);
        buried.attempts.push(item.attempts);
        buried.reason.push(op.reason);
        buried.code.push(op.error.code);
        buried.status.push(op.error.status);
        buried.message.push(op.error.message);
        buried.at.push(op.at);
        deleted.push(id);
      }
    }
    if (deleted.length === 0 && rescheduled.id.length === 0) return;
    const { t } = this;
    await inTransaction(this.pool, async (client) => {
      // Every row this transaction changes, locked first and in id order: renewals skip locked rows
      // and leases skip them too, so nothing can wait on this transaction while it waits on them.
      await client.query(`SELECT 1 FROM ${t.outbox} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, [[...deleted, ...rescheduled.id]]);
      if (rescheduled.id.length > 0) {
        // The row stays leased by this instance: it retries it itself, at due_at.
        await client.query(
          `UPDATE ${t.outbox} o SET attempts = u.attempts, due_at = u.due_at
           FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS u(id, attempts, due_at) WHERE o.id = u.id`,
          [rescheduled.id, rescheduled.attempts, rescheduled.due],
        );
      }
      if (buried.id.length > 0) {
        await client.query(
          `INSERT INTO ${t.deadLetters} (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, reason, error_code, error_status, error_message, failed_at, scope, account)
           SELECT u.id, u.r, u.c, u.b, u.n, COALESCE(o.first_accepted_at, u.a), u.a, u.t, u.reason, u.code, u.status, u.message, u.at, COALESCE(o.scope, $13), COALESCE(o.account, $14)
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::int[], $8::text[], $9::text[], $10::int[], $11::text[], $12::bigint[])
             AS u(id, r, c, b, n, a, t, reason, code, status, message, at)
           LEFT JOIN ${t.outbox} o ON o.id = u.id
           ON CONFLICT (id) DO UPDATE SET attempts = EXCLUDED.attempts, reason = EXCLUDED.reason, error_code = EXCLUDED.error_code,
             error_status = EXCLUDED.error_status, error_message = EXCLUDED.error_message, failed_at = EXCLUDED.failed_at, accepted_at = EXCLUDED.accepted_at`,
          [buried.id, buried.ref, buried.customer, buried.body, buried.bytes, buried.accepted, buried.attempts, buried.reason, buried.code, buried.status, buried.message, buried.at, this.identity?.scope ?? null, this.identity?.account ?? null],
        );
      }
      if (deleted.length > 0) await client.query(`DELETE FROM ${t.outbox} WHERE id = ANY($1::bigint[])`, [deleted]);
    });
  }

  /** Writes at most `delayMs` from now (an earlier write already scheduled stands). */
  private schedule(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.kick();
    }, delayMs);
    // A retry after a failure must not keep an idle process alive; close() flushes anyway.
    if (delayMs >= RETRY_AFTER_MS) this.timer.unref();
  }
}

/** A row the database refuses (SQLSTATE class 22, data exception, or 23, integrity constraint), as opposed to a failed connection or server. */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}
