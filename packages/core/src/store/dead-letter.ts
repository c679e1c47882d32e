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

/**
 * PacSpace's Idempotency-Key lifetime as assumed by this library (the API does not document one):
 * 24 h. A durable store refuses to replay a dead letter first accepted longer ago unless asked to.
 *
 * @example
 * const stale = Date.now() - letter.firstAcceptedAt > ASSUMED_KEY_TTL_MS;
 */
export const ASSUMED_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Which dead letters a store's command applies to. Both given: letters that match both. Empty: all.
 *
 * @example
 * outbox.replay({ reason: 'max_elapsed' });
 * outbox.deadLetters({ ids: [12, 13] });
 */
export interface DeadLetterFilter {
  /** Only letters with this reason. */
  reason?: string | undefined;
  /** Only letters with these ids. */
  ids?: number[] | undefined;
}

/**
 * How a store's `replay` replays.
 *
 * @example
 * outbox.replay({ ids: [7] }, { allowExpiredKeys: true });
 */
export interface ReplayOptions {
  /** The replay's time (epoch ms): the letters are accepted again then. @default Date.now() */
  now?: number | undefined;
  /** Replay letters first accepted longer ago than {@link ASSUMED_KEY_TTL_MS} too. @default false */
  allowExpiredKeys?: boolean | undefined;
}

/**
 * What a store's `replay` did.
 *
 * @example
 * const { replayed, skipped } = await outbox.replay();
 * for (const { letter, why } of skipped) console.warn(`kept ${letter.id}: ${why}`);
 */
export interface ReplayResult {
  /** Letters moved back to the outbox. */
  replayed: DeadLetter[];
  /** Letters that matched but were left where they are, with why. */
  skipped: Array<{ letter: DeadLetter; why: string }>;
}

/**
 * Why `letter` stays a dead letter in a replay, or undefined when it goes back to pending: the one
 * rule every durable store applies. A 409 (`integrity`) or `corrupt` letter is replayed only when
 * named (its resend would be refused again or sent back); a letter older than the key lifetime
 * only with `allowExpiredKeys` (a resend of a delta PacSpace did commit would count twice).
 *
 * @example
 * const why = whyNotReplayed(letter, {}, Date.now(), {});
 * if (why !== undefined) skipped.push({ letter, why });
 */
export function whyNotReplayed(letter: DeadLetter, filter: DeadLetterFilter, now: number, options: ReplayOptions): string | undefined {
  const named = filter.reason !== undefined || filter.ids !== undefined;
  if (letter.reason === 'integrity' && !named) return 'a 409: PacSpace holds a different delta under this referenceId, so the same body is refused again; name it with --reason integrity or --id to replay it anyway';
  if (letter.reason === 'corrupt' && !named) return 'its body is not its delta, so a replay only sends it back here; name it with --reason corrupt or --id to replay it anyway';
  if (now - letter.firstAcceptedAt > ASSUMED_KEY_TTL_MS && !options.allowExpiredKeys) return 'first accepted more than 24 h ago: PacSpace may have forgotten its Idempotency-Key, and if it had committed the delta a resend would count twice; check the ledger first, then use --allow-expired-keys';
  return undefined;
}

/**
 * The last error of a dead letter, in a store's columns.
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
