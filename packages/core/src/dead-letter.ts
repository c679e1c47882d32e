/**
 * A delta the Meter gave up on, as a durable store keeps it (the SQLite file, the Postgres
 * outbox): with its reason, its last error and its frozen body, so it can be exported or replayed
 * under the same referenceId.
 *
 * @example
 * for (const letter of store.deadLetters({ reason: 'unauthorized' })) console.log(letter.referenceId, letter.error.code);
 */
export interface DeadLetter {
  /** Row id; stays the same when the letter is replayed. */
  id: number;
  referenceId: string;
  customerId: string;
  /** Why the meter gave up: `unauthorized` (401/403: the API key), `rejected` (other 4xx), `integrity` (409), `max_attempts`, `max_elapsed`. */
  reason: string;
  /** Attempts made. */
  attempts: number;
  /** Epoch ms of the first acceptance (kept across replays). */
  firstAcceptedAt: number;
  /** Epoch ms of the latest acceptance (a replay accepts again). */
  acceptedAt: number;
  /** Epoch ms when it was dead-lettered. */
  failedAt: number;
  /** The last error: its code (`VALIDATION_ERROR`, `IDEMPOTENCY_CONFLICT`, ...), HTTP status and message. */
  error: { code: string | null; status: number | null; message: string };
  /** The frozen JSON body, exactly as it was sent. */
  body: string;
}
