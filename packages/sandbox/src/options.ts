import { randomBytes } from 'node:crypto';
import { SandboxConfigError, isNonNegativeInteger, isPlainObject, rejectUnknownKeys } from './config-error.js';
import { validateFaults } from './fault-validation.js';
import type { FaultConfig } from './faults.js';
import { LIVE_KEY_PREFIX } from './validation.js';
import { resolvePace, type ResolvedPace, type VerificationPace } from './verification.js';

/**
 * Options for {@link startSandbox}. Every field is optional.
 *
 * @example
 * const sandbox = await startSandbox({ port: 4010, apiKey: 'pk_test_local.secret', seed: 7, maxBodyBytes: 64 * 1024 });
 */
export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number | undefined;
  /** Interface to bind. Default `'127.0.0.1'`. */
  host?: string | undefined;
  /** The only key accepted in `X-Api-Key`. Default: a generated `pk_test_sandbox.<32 hex>`. */
  apiKey?: string | undefined;
  /** Faults to inject into write requests. Default: none. */
  faults?: FaultConfig | undefined;
  /** Seed for every random fault decision, so a run is reproducible. Default 1. */
  seed?: number | undefined;
  /** Largest accepted request body; larger ones get 413. Default 1 MiB (1048576). */
  maxBodyBytes?: number | undefined;
  /** Most request-log entries kept; the oldest are dropped (and counted) beyond it. Default 1,000,000. */
  maxRequestLog?: number | undefined;
  /** How long committed deltas stay QUEUED, then PROCESSING. Default instant (`{ queuedMs: 0, processingMs: 0 }`). */
  verification?: VerificationPace | undefined;
  /**
   * How `POST /delta` recognises a delta it already has. `'idempotency-key'` (the default, and all
   * PacSpace documents): only a repeated `Idempotency-Key` is a replay; the same referenceId under
   * another key, or without one, is committed again. `'reference-id'`: also a delta whose
   * referenceId is already committed with the same content is answered as a replay (`idempotent:
   * true`), and with other content refused 409 `IDEMPOTENCY_CONFLICT`, as batch items always are.
   * Whether PacSpace's single endpoint does this is undocumented: code that bills correctly under
   * both settings depends on neither.
   */
  singleDeltaDedupe?: 'idempotency-key' | 'reference-id' | undefined;
}

/** Options with defaults filled in and values checked. */
export interface ResolvedOptions {
  port: number;
  host: string;
  apiKey: string;
  faults: FaultConfig;
  seed: number;
  maxBodyBytes: number;
  maxRequestLog: number;
  verification: ResolvedPace;
  singleDeltaDedupe: 'idempotency-key' | 'reference-id';
}

const MAX_BODY_LIMIT = 256 * 1024 * 1024;
/**
 * Visible ASCII only: the key travels in a header and must compare byte for byte. At least 8
 * characters, as core's client requires: a key the sandbox takes must work in a Meter too.
 */
const API_KEY_PATTERN = /^[\x21-\x7e]{8,512}$/;

/** Fills in defaults and throws SandboxConfigError (a TypeError) naming the first bad option. */
export function resolveOptions(input: unknown = {}): ResolvedOptions {
  if (!isPlainObject(input)) throw new SandboxConfigError('options', 'an object', input);
  rejectUnknownKeys(input, ['port', 'host', 'apiKey', 'faults', 'seed', 'maxBodyBytes', 'maxRequestLog', 'verification', 'singleDeltaDedupe'], 'options');
  const { port = 0, host = '127.0.0.1', apiKey, seed = 1, maxBodyBytes = 1024 * 1024, maxRequestLog = 1_000_000, singleDeltaDedupe = 'idempotency-key' } = input;

  if (!isNonNegativeInteger(port) || port > 65535) throw new SandboxConfigError('port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || !/^[^\s/]+$/.test(host)) throw new SandboxConfigError('host', 'a host name or IP address', host);
  if (apiKey !== undefined && (typeof apiKey !== 'string' || !API_KEY_PATTERN.test(apiKey))) {
    // Never put the rejected key itself into the message.
    throw new SandboxConfigError('apiKey', 'a string of 8-512 visible ASCII characters (as the Meter\'s client requires)', typeof apiKey);
  }
  if (typeof apiKey === 'string' && apiKey.startsWith(LIVE_KEY_PREFIX)) {
    throw new SandboxConfigError('apiKey', 'a test key (pk_test_…): the sandbox refuses live keys, so production traffic is never pointed at it by mistake', 'a pk_live_ key');
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new SandboxConfigError('seed', 'an integer', seed);
  if (!isNonNegativeInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_BODY_LIMIT) {
    throw new SandboxConfigError('maxBodyBytes', `an integer from 1 to ${MAX_BODY_LIMIT}`, maxBodyBytes);
  }
  if (!isNonNegativeInteger(maxRequestLog)) throw new SandboxConfigError('maxRequestLog', 'a non-negative integer', maxRequestLog);
  if (singleDeltaDedupe !== 'idempotency-key' && singleDeltaDedupe !== 'reference-id') {
    throw new SandboxConfigError('singleDeltaDedupe', "'idempotency-key' or 'reference-id'", singleDeltaDedupe);
  }

  return {
    port,
    host,
    apiKey: (apiKey as string | undefined) ?? `pk_test_sandbox.${randomBytes(16).toString('hex')}`,
    faults: validateFaults(input.faults),
    seed,
    maxBodyBytes,
    maxRequestLog,
    verification: resolvePace(input.verification),
    singleDeltaDedupe,
  };
}
