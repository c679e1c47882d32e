/**
 * Error codes as metric labels and `stats().failed` keys. A code comes from upstream (PacSpace's
 * error body, a per-item `error` string of a batch answer, an SDK's error), and an upstream that
 * is not PacSpace (a chatty proxy) can put anything there: customer ids, request ids, sentences.
 * As labels those would make one series each, so only known codes are kept and every other one
 * is counted as {@link OTHER_ERROR_CODE}. The raw text stays in logs and hooks, bounded in length.
 */

/** Node's codes for a request that failed on the way (an SDK-shaped client may throw them): the request may not have arrived. */
export const NODE_NETWORK_ERROR_CODES: readonly string[] = [
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
];

/** The label of every error code not in {@link KNOWN_ERROR_CODES}. */
export const OTHER_ERROR_CODE = 'OTHER';

/** Longest upstream error code kept in an error (anything longer is not a code). */
export const MAX_UPSTREAM_CODE_LENGTH = 64;
/** Longest upstream error message kept in an error, a log line or a hook. */
export const MAX_UPSTREAM_MESSAGE_LENGTH = 500;

/**
 * The codes `stats().failed` and the exporters report by name: PacSpace's documented codes, the
 * ones its servers (and the sandbox) answer per status, the official SDKs' client codes, this
 * library's own, and Node's network error codes. The list only bounds cardinality: a code that
 * is missing here is still in the error passed to `onDrop`/`onError` and in the log line.
 *
 * @example
 * KNOWN_ERROR_CODES.has('INSUFFICIENT_CREDITS'); // true
 */
export const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([
  // PacSpace's documented codes.
  'VALIDATION_ERROR', 'INVALID_SCOPE_COMBINATION', 'SCOPE_TOO_WIDE', 'INVALID_API_KEY', 'API_KEY_ENVIRONMENT_HOST_MISMATCH',
  'INSUFFICIENT_CREDITS', 'NOT_FOUND', 'CONTRACT_NOT_DEPLOYED', 'CADENCE_LIMIT', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE',
  'IDEMPOTENCY_PENDING', 'IDEMPOTENCY_CONFLICT', 'INVALID_SUBMISSION_PROFILE', 'INVALID_SUMMARY', 'API_ERROR', 'UNKNOWN',
  // What PacSpace's servers and the sandbox answer per status.
  'INTERNAL_ERROR', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT', 'SERVER_ERROR', 'UNAUTHORIZED', 'FORBIDDEN', 'CONFLICT',
  'UNPROCESSABLE_ENTITY', 'PAYLOAD_TOO_LARGE', 'NOT_IMPLEMENTED_IN_SANDBOX',
  // Client-side codes: the SDKs' and this library's.
  'NETWORK_ERROR', 'TIMEOUT', 'CLIENT_CLOSED', 'MISSING_API_KEY', 'INVALID_URL', 'MISSING_RESULT', 'DELTA_DROPPED',
  'INVALID_DELTA', 'INVALID_OPTION', 'UNSUPPORTED',
  ...NODE_NETWORK_ERROR_CODES,
]);

/**
 * The label an error code is counted under: itself when known, else {@link OTHER_ERROR_CODE}.
 *
 * @example
 * errorCodeLabel('CADENCE_LIMIT'); // 'CADENCE_LIMIT'
 * errorCodeLabel('customer cust_42 is blocked by policy 7'); // 'OTHER'
 */
export function errorCodeLabel(code: unknown): string {
  return typeof code === 'string' && KNOWN_ERROR_CODES.has(code) ? code : OTHER_ERROR_CODE;
}

/**
 * `counts` (code -> count) with every code replaced by its {@link errorCodeLabel}, the counts of
 * codes that share a label added up: what an exporter reports, whatever Meter-shaped object it reads.
 *
 * @example
 * clampErrorCounts({ TIMEOUT: 2, 'cust_1 blocked': 1, 'cust_2 blocked': 1 }); // { TIMEOUT: 2, OTHER: 2 }
 */
export function clampErrorCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const clamped: Record<string, number> = {};
  for (const [code, count] of Object.entries(counts)) {
    const label = errorCodeLabel(code);
    clamped[label] = (clamped[label] ?? 0) + count;
  }
  return clamped;
}

/**
 * `text` cut to `max` characters (with `…` when cut): upstream text in errors, logs and hooks is
 * kept, but never unbounded.
 *
 * @example
 * boundText('x'.repeat(600), 500).length; // 500
 */
export function boundText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
