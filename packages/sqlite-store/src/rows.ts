import type { DeltaFields, QueuedDelta } from '@pacspace-metering/core';
import { SqliteStoreError } from './errors.js';

/**
 * A row of the `outbox` table.
 *
 * @example
 * const row = db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow;
 */
export interface OutboxRow {
  id: number;
  reference_id: string;
  customer_id: string;
  body: string;
  bytes: number;
  accepted_at: number;
  attempts: number;
  due_at: number;
}

/**
 * Rebuilds the meter's item from a row: the frozen body and key exactly as they were accepted, the
 * attempts made and the next due time. `fields` (the summary the meter reports in its hooks) is
 * read back from the body.
 *
 * @example
 * for (const row of rows) memory.add(itemFromRow(row, path));
 */
export function itemFromRow(row: OutboxRow, path: string): QueuedDelta {
  let parsed: DeltaFields;
  try {
    parsed = JSON.parse(row.body) as DeltaFields;
  } catch (cause) {
    throw new SqliteStoreError('STORE_CORRUPT', path, `outbox row ${row.id} holds a body that is not JSON`, { cause });
  }
  const fields = Object.freeze({ customerId: parsed.customerId, delta: parsed.delta, reason: parsed.reason, referenceId: parsed.referenceId });
  return {
    seq: row.id,
    referenceId: row.reference_id,
    customerId: row.customer_id,
    fields,
    body: row.body,
    bytes: row.bytes,
    acceptedAt: row.accepted_at,
    attempts: row.attempts,
    dueAt: row.due_at,
  };
}

/**
 * The last error of a dead letter, in columns.
 *
 * @example
 * errorColumns(new PacSpaceApiError('Conflict', { status: 409, code: 'IDEMPOTENCY_CONFLICT' })); // { code: 'IDEMPOTENCY_CONFLICT', status: 409, message: 'Conflict' }
 */
export interface ErrorColumns {
  code: string | null;
  status: number | null;
  message: string;
}

/**
 * Reads `code`, `status` and `message` from whatever the meter gave up with.
 *
 * @example
 * errorColumns(new Error('socket hang up')); // { code: null, status: null, message: 'socket hang up' }
 */
export function errorColumns(error: unknown): ErrorColumns {
  const e = error as { code?: unknown; status?: unknown; message?: unknown } | undefined;
  return {
    code: typeof e?.code === 'string' ? e.code : null,
    status: typeof e?.status === 'number' && Number.isInteger(e.status) ? e.status : null,
    message: typeof e?.message === 'string' && e.message !== '' ? e.message : String(error),
  };
}
