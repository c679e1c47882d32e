import type { QueuedDelta } from '@pacspace-metering/core';

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
 * A row rebuilt as the Meter's item, and why its body cannot be sent as that delta (undefined when
 * it can). A row with a `problem` is never handed to the Meter: the store moves it to the dead
 * letters (reason `corrupt`), where `item` (the row's own columns) describes it.
 *
 * @example
 * const { item, problem } = loadRow(row);
 */
export interface LoadedRow {
  item: QueuedDelta;
  problem: string | undefined;
}

/**
 * Rebuilds the meter's item from a row: the frozen body and key exactly as they were accepted, the
 * attempts made and the next due time. `fields` (the summary the meter reports in its hooks) is
 * read back from the body. The body must be the JSON delta of its row (same referenceId and
 * customerId, a finite delta): sent otherwise, it would be billed under a key or to a customer
 * the row does not say, or refused after a round trip that spoils the batch it travels in.
 *
 * @example
 * const { item, problem } = loadRow(row);
 * if (problem === undefined) memory.add(item);
 */
export function loadRow(row: OutboxRow): LoadedRow {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    parsed = undefined;
  }
  const body = (parsed !== null && typeof parsed === 'object' ? parsed : {}) as { customerId?: unknown; delta?: unknown; reason?: unknown; referenceId?: unknown };
  const problem = parsed === undefined ? 'a body that is not JSON' : bodyMismatch(body, row);
  const fields = Object.freeze({
    customerId: row.customer_id,
    delta: typeof body.delta === 'number' ? body.delta : 0,
    reason: typeof body.reason === 'string' ? body.reason : '',
    referenceId: row.reference_id,
  });
  const item: QueuedDelta = {
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
  return { item, problem };
}

/** What in a parsed body disagrees with its row, or undefined. */
function bodyMismatch(body: { customerId?: unknown; delta?: unknown; referenceId?: unknown }, row: { reference_id: string; customer_id: string }): string | undefined {
  if (body.referenceId !== row.reference_id) return `a body whose referenceId (${JSON.stringify(body.referenceId)}) is not the row's (${row.reference_id})`;
  if (body.customerId !== row.customer_id) return `a body whose customerId (${JSON.stringify(body.customerId)}) is not the row's (${row.customer_id})`;
  if (typeof body.delta !== 'number' || !Number.isFinite(body.delta)) return `a body without a finite delta (${JSON.stringify(body.delta)})`;
  return undefined;
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
