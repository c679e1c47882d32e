import type { StoreIdentity, StoredDeltaRow } from '@pacspace-metering/core';
import type { SqliteConnection } from './sqlite-driver.js';

/**
 * Rows of the file's `outbox` that another Meter accepted, per Meter (`scope` null: written before
 * rows recorded one, and not of this Meter's scope).
 *
 * @example
 * const others: OtherMeterRows[] = table.otherMeters(); // [{ scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60', rows: 2 }]
 */
export interface OtherMeterRows {
  scope: string | null;
  account: string | null;
  rows: number;
}

/**
 * The statements the SQLite store runs on its file's `outbox` table apart from its writes (see
 * `Writer`): the highest row id, this Meter's rows counted and loaded in id order, the adoption of
 * rows no Meter owns yet, and the rows of other Meters. Once the Meter is known (`identify`), each
 * one touches only the rows of that Meter (its scope and account); before, every row.
 *
 * @example
 * const table = new OutboxTable(db);
 * table.identify({ scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60' });
 * const rows = table.rowsAfter(0, 100);
 */
export class OutboxTable {
  private identity: StoreIdentity | undefined;

  constructor(private readonly db: SqliteConnection) {}

  /** Who the Meter is: from now on, only its rows are counted and loaded. */
  identify(identity: StoreIdentity): void {
    this.identity = identity;
  }

  /** The highest id in the outbox or the dead letters (a row keeps its id between the two). */
  lastId(): number {
    return (this.db.prepare('SELECT max(COALESCE((SELECT max(id) FROM outbox), 0), COALESCE((SELECT max(id) FROM dead_letters), 0)) AS id').get() as { id: number }).id;
  }

  /**
   * Gives this Meter the rows no Meter owns: written before rows recorded one, when their
   * referenceId starts with its scope; and a replayed `unauthorized` dead letter of its scope (its
   * key was refused, so no account has it). A write: throws what SQLite threw.
   */
  adoptOwnerless(): void {
    const { scope, account } = this.identity!;
    this.db.prepare("UPDATE outbox SET scope = ?, account = ? WHERE (scope IS NULL AND substr(reference_id, 1, length(?) + 1) = ? || ':') OR (scope = ? AND account IS NULL)")
      .run(scope, account, scope, scope, scope);
  }

  /** This Meter's rows (every row before `identify`). */
  count(): number {
    const { where, params } = this.mine(' WHERE ');
    return (this.db.prepare(`SELECT count(*) AS n FROM outbox${where}`).get(...params) as { n: number }).n;
  }

  /** Up to `limit` of this Meter's rows with an id above `id`, oldest first. */
  rowsAfter(id: number, limit: number): StoredDeltaRow[] {
    const { where, params } = this.mine(' AND ');
    return this.db.prepare(`SELECT id, reference_id, customer_id, body, bytes, accepted_at, attempts, due_at FROM outbox WHERE id > ?${where} ORDER BY id LIMIT ?`).all(id, ...params, limit) as StoredDeltaRow[];
  }

  /** The rows of every other Meter, per Meter: a file serves one process, so any is worth a word. */
  otherMeters(): OtherMeterRows[] {
    const { scope, account } = this.identity!;
    const rows = this.db.prepare('SELECT scope, account, count(*) AS n FROM outbox WHERE scope IS NULL OR scope <> ? OR account <> ? GROUP BY scope, account ORDER BY scope, account').all(scope, account) as Array<{ scope: string | null; account: string | null; n: number }>;
    return rows.map((r) => ({ scope: r.scope, account: r.account, rows: r.n }));
  }

  /** The condition selecting this Meter's rows (after `joiner`), none before `identify`. */
  private mine(joiner: string): { where: string; params: string[] } {
    if (this.identity === undefined) return { where: '', params: [] };
    return { where: `${joiner}scope = ? AND account = ?`, params: [this.identity.scope, this.identity.account] };
  }
}
