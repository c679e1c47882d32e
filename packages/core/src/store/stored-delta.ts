import type { QueuedDelta } from './store.js';

/**
 * A durable store's row of a pending delta, in the store's own columns, numbers already numbers
 * (a Postgres `bigint` arrives as a string: the store converts it first).
 *
 * @example
 * const row: StoredDeltaRow = { id: 1, reference_id: 'api:api_request:acme:req-1', customer_id: 'acme', body, bytes: body.length, accepted_at: Date.now(), attempts: 0, due_at: 0 };
 */
export interface StoredDeltaRow {
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
 * const { item, problem } = loadStoredDelta(row);
 */
export interface LoadedStoredDelta {
  item: QueuedDelta;
  problem: string | undefined;
}

/**
 * Rebuilds the Meter's item from a durable store's row: the frozen body and key exactly as they
 * were accepted, the attempts made and the next due time. `fields` (what the Meter reports in its
 * hooks) is read back from the body. The body must be the JSON delta of its row (same referenceId
 * and customerId, a finite delta): sent otherwise, it would be billed under a key or to a customer
 * the row does not say, or refused after a round trip that spoils the batch it travels in. Every
 * durable store loads rows through this, so they judge a damaged row alike.
 *
 * @example
 * const { item, problem } = loadStoredDelta(row);
 * if (problem === undefined) memory.add(item);
 */
export function loadStoredDelta(row: StoredDeltaRow): LoadedStoredDelta {
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
function bodyMismatch(body: { customerId?: unknown; delta?: unknown; referenceId?: unknown }, row: StoredDeltaRow): string | undefined {
  if (body.referenceId !== row.reference_id) return `a body whose referenceId (${JSON.stringify(body.referenceId)}) is not the row's (${row.reference_id})`;
  if (body.customerId !== row.customer_id) return `a body whose customerId (${JSON.stringify(body.customerId)}) is not the row's (${row.customer_id})`;
  if (typeof body.delta !== 'number' || !Number.isFinite(body.delta)) return `a body without a finite delta (${JSON.stringify(body.delta)})`;
  return undefined;
}
