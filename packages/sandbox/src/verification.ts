import { SandboxConfigError, isNonNegativeInteger, isPlainObject, rejectUnknownKeys } from './config-error.js';

/**
 * A delta's status, as `GET /delta/:recordId` and derive report it: `QUEUED` from its commit,
 * `PROCESSING` after `queuedMs`, then `VERIFIED` (or `FAILED`, under the verificationFailure
 * fault) after `processingMs` more.
 *
 * @example
 * const statuses: DeltaStatus[] = sandbox.ledger().deltas.map((d) => d.status);
 */
export type DeltaStatus = 'QUEUED' | 'PROCESSING' | 'VERIFIED' | 'FAILED';

/**
 * How fast committed deltas move through their lifecycle. Both 0 (the default) is instant: a delta
 * reads VERIFIED (or FAILED) as soon as it is committed, though the emit answer still says QUEUED,
 * as PacSpace's does.
 *
 * @example
 * const sandbox = await startSandbox({ verification: { queuedMs: 1000, processingMs: 2000 } });
 */
export interface VerificationPace {
  /** Milliseconds a delta stays QUEUED. Default 0. */
  queuedMs?: number;
  /** Milliseconds it then stays PROCESSING. Default 0. */
  processingMs?: number;
}

export type ResolvedPace = Required<VerificationPace>;

/** Up to a day per phase: enough to test a poller's patience, small enough to catch a typo in seconds. */
const MAX_PHASE_MS = 86_400_000;

/** The pace with defaults filled in, or SandboxConfigError naming the bad field. */
export function resolvePace(input: unknown, path = 'verification'): ResolvedPace {
  if (input === undefined) return { queuedMs: 0, processingMs: 0 };
  if (!isPlainObject(input)) throw new SandboxConfigError(path, 'an object with queuedMs and processingMs', input);
  rejectUnknownKeys(input, ['queuedMs', 'processingMs'], path);
  const phase = (name: 'queuedMs' | 'processingMs'): number => {
    const value = input[name] ?? 0;
    if (!isNonNegativeInteger(value) || value > MAX_PHASE_MS) throw new SandboxConfigError(`${path}.${name}`, `an integer number of milliseconds from 0 to ${MAX_PHASE_MS}`, value);
    return value;
  };
  return { queuedMs: phase('queuedMs'), processingMs: phase('processingMs') };
}

/** Where a delta committed at `committedMs` is at `now`; `settledMs` is set once it is final. */
export function statusAt(
  committedMs: number,
  failure: string | null,
  pace: ResolvedPace,
  now: number,
): { status: DeltaStatus; settledMs: number | null } {
  const processingFrom = committedMs + pace.queuedMs;
  const settledMs = processingFrom + pace.processingMs;
  if (now < processingFrom) return { status: 'QUEUED', settledMs: null };
  if (now < settledMs) return { status: 'PROCESSING', settledMs: null };
  return { status: failure === null ? 'VERIFIED' : 'FAILED', settledMs };
}
