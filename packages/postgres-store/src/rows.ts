import { loadStoredDelta, type LoadedStoredDelta } from '@pacspace-metering/core';

/**
 * An outbox row as the lease query returns it (`bigint` columns arrive as strings from pg).
 *
 * @example
 * const { rows } = await pool.query<OutboxRow>('SELECT id, reference_id, customer_id, body, bytes, accepted_at, attempts, due_at FROM pacspace_metering.outbox');
 */
export interface OutboxRow {
  id: string;
  reference_id: string;
  customer_id: string;
  body: string;
  bytes: number;
  accepted_at: string;
  attempts: number;
  due_at: string;
}

/**
 * Rebuilds the Meter's item from a leased row, by core's rule for every durable store
 * ({@link loadStoredDelta}: a body that is not its row's delta comes back with a `problem`), once
 * pg's `bigint` strings are numbers.
 *
 * @example
 * const { item, problem } = loadRow(row);
 * if (problem === undefined) batch.push(item);
 */
export function loadRow(row: OutboxRow): LoadedStoredDelta {
  return loadStoredDelta({ ...row, id: Number(row.id), accepted_at: Number(row.accepted_at), due_at: Number(row.due_at) });
}
