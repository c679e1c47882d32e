import type { DeltaFields, QueuedDelta } from '@pacspace-metering/core';

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
 * Rebuilds the meter's item from a row: the frozen body and key exactly as they were accepted,
 * the attempts made and the next due time. `fields` (what the meter reports in its hooks) is
 * read back from the body; a body that is not JSON keeps the row's own columns.
 *
 * @example
 * const items = rows.map(itemFromRow);
 */
export function itemFromRow(row: OutboxRow): QueuedDelta {
  let parsed: Partial<DeltaFields> = {};
  try {
    parsed = JSON.parse(row.body) as DeltaFields;
  } catch {
    // Sent as it is; PacSpace refuses it and it becomes a dead letter with that reason.
  }
  const fields = Object.freeze({ customerId: parsed.customerId ?? row.customer_id, delta: parsed.delta ?? 0, reason: parsed.reason ?? '', referenceId: parsed.referenceId ?? row.reference_id });
  return {
    seq: Number(row.id),
    referenceId: row.reference_id,
    customerId: row.customer_id,
    fields,
    body: row.body,
    bytes: row.bytes,
    acceptedAt: Number(row.accepted_at),
    attempts: row.attempts,
    dueAt: Number(row.due_at),
  };
}

/**
 * The last error of a dead letter, in columns.
 *
 * @example
 * errorColumns(new Error('socket hang up')); // { code: null, status: null, message: 'socket hang up' }
 */
export function errorColumns(error: unknown): { code: string | null; status: number | null; message: string } {
  const e = error as { code?: unknown; status?: unknown; message?: unknown } | undefined;
  return {
    code: typeof e?.code === 'string' ? e.code : null,
    status: typeof e?.status === 'number' && Number.isInteger(e.status) ? e.status : null,
    message: typeof e?.message === 'string' && e.message !== '' ? e.message : String(error),
  };
}
