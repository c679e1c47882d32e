/**
 * Base class of every error this library creates. `code` is stable and machine-readable.
 *
 * @example
 * if (err instanceof MeteringError) console.log(err.code);
 */
export class MeteringError extends Error {
  /** A stable, machine-readable code such as `INVALID_DELTA` or `NETWORK_ERROR`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A delta (or one of its fields) that PacSpace would reject, refused before it is queued.
 * `field` names the offending field; the message says what is allowed.
 *
 * @example
 * meter.enqueue({ customerId: 'has spaces', delta: -1, reason: 'x' });
 * // -> { accepted: false, reason: 'invalid', error: DeltaValidationError { field: 'customerId' } }
 */
export class DeltaValidationError extends MeteringError {
  /** The field that failed validation, e.g. `customerId`, `delta`, `reason`, `metadata`. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_DELTA', `${field}: ${message}`, options);
    this.field = field;
  }
}

/**
 * A configuration value that cannot work, thrown synchronously at start-up.
 * `option` names the offending option (dotted for nested ones, e.g. `retry.maxAttempts`).
 *
 * @example
 * createMeter({ scope: 'has spaces' }); // throws MeteringConfigError { option: 'scope' }
 */
export class MeteringConfigError extends MeteringError {
  /** The option that is wrong. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}

/** Fields a {@link PacSpaceApiError} carries besides its message. */
export interface PacSpaceApiErrorInit {
  /** HTTP status; 0 for a failure before any response (network error, deadline). */
  status: number;
  /** Server error code (`VALIDATION_ERROR`, `CADENCE_LIMIT`, ...) or a client code (`NETWORK_ERROR`, `TIMEOUT`). */
  code: string;
  /** The request path, never the full URL with credentials. */
  requestPath?: string;
  /** Server retry hint in milliseconds (`Retry-After` header or body `retryAfterSeconds`). */
  retryAfterMs?: number;
  /** Customer named by a per-customer limit (`CADENCE_LIMIT`). */
  customerId?: string;
  /** Whether the answer's body was PacSpace's JSON error envelope; see {@link PacSpaceApiError.pacspaceEnvelope}. */
  pacspaceEnvelope?: boolean;
  cause?: unknown;
}

/**
 * An error answered by PacSpace (status > 0) or met on the way to it (status 0). It never
 * contains the API key.
 *
 * @example
 * try { await meter.emit(delta); } catch (err) {
 *   if (err instanceof PacSpaceApiError && err.status === 402) notifyBilling();
 * }
 */
export class PacSpaceApiError extends MeteringError {
  readonly status: number;
  readonly requestPath: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly customerId: string | undefined;
  /**
   * `true` when the answer's body was PacSpace's JSON error envelope, so `code` is PacSpace's own;
   * `false` when it was not (an HTML page, text, nothing, or JSON of another shape): the answer of
   * a proxy, load balancer or firewall between, whose `code` is only derived from the status;
   * `undefined` when there was no answer (network error, deadline) or another client made the error.
   */
  readonly pacspaceEnvelope: boolean | undefined;

  constructor(message: string, init: PacSpaceApiErrorInit) {
    super(init.code, message, { cause: init.cause });
    this.status = init.status;
    this.requestPath = init.requestPath;
    this.retryAfterMs = init.retryAfterMs;
    this.customerId = init.customerId;
    this.pacspaceEnvelope = init.pacspaceEnvelope;
  }
}

/**
 * PacSpace answered 409: the same Idempotency-Key was used with a different body. This means two
 * different usage records share one referenceId, a bug in how ids are built; it is never retried
 * and is reported loudly through `onError` and the logger at error level.
 *
 * @example
 * createMeter({ onError: (err) => { if (err instanceof IdempotencyConflictError) page(err); } });
 */
export class IdempotencyConflictError extends PacSpaceApiError {}

/**
 * A delta the meter gave up on or never accepted (queue full, closed, out of attempts). Passed to
 * `onDrop` and used to reject `meter.emit()`.
 *
 * @example
 * await meter.emit(delta).catch((err) => err instanceof DeltaDroppedError && err.reason);
 */
export class DeltaDroppedError extends MeteringError {
  /** Why it was dropped, one of {@link DropReason}. */
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('DELTA_DROPPED', message, options);
    this.reason = reason;
  }
}
