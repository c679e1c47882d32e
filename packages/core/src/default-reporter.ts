import type { MeteringLogger } from './metering-logger.js';
import { processWarning } from './process-warning.js';

/** How often the same kind of problem is written out again, at most. */
const REPEAT_MS = 60_000;

/** A log line's object, reduced to what identifies the problem (never a request body, never a key). */
function brief(obj: object): string {
  const fields = obj as { reason?: unknown; referenceId?: unknown; customerId?: unknown; pending?: unknown; err?: unknown };
  const parts: string[] = [];
  if (typeof fields.referenceId === 'string') parts.push(`referenceId ${fields.referenceId}`);
  if (typeof fields.customerId === 'string') parts.push(`customer ${fields.customerId}`);
  if (typeof fields.pending === 'number') parts.push(`${fields.pending} pending`);
  const err = fields.err as { code?: unknown; message?: unknown } | undefined;
  if (err && typeof err.message === 'string') parts.push(`${typeof err.code === 'string' ? `${err.code}: ` : ''}${err.message}`);
  return parts.join('; ');
}

/**
 * The logger a Meter uses when none is given: says nothing of routine work (debug, info), and
 * writes every kind of loss or failure (warn, error) to the process's own output as a Node
 * warning (`process.emitWarning`, code `PACSPACE_METERING`, on stderr by default), so that a wrong
 * API key or a full queue is heard about with default settings. Each kind (its message) is
 * written the first time; repeats within the minute are counted and written as one line when the
 * minute is over. Messages are
 * built from the library's own fields; error messages from PacSpace have the key redacted by the
 * client. Pass `logger: silentLogger` to turn it off, or your own logger to route it.
 *
 * @example
 * const reporter = createDefaultReporter();
 * reporter.warn({ reason: 'queue_full' }, 'pacspace-metering: delta refused (queue_full)');
 * // (node:1234) [PACSPACE_METERING] Warning: pacspace-metering: delta refused (queue_full)
 */
export function createDefaultReporter(
  write: (line: string) => void = (line) => processWarning(line, 'PACSPACE_METERING'),
  now: () => number = Date.now,
): MeteringLogger {
  const kinds = new Map<string, { writtenAt: number; since: number; detail: string }>();

  function emit(line: string): void {
    try {
      write(line);
    } catch {
      // Reporting must never break delivery.
    }
  }

  /** Writes how many more of a kind came since it was last written, if any. */
  function summarize(kind: string): void {
    const seen = kinds.get(kind);
    if (!seen || seen.since === 0) return;
    emit(`${kind} - ${seen.since} more like it in the last ${Math.max(1, Math.round((now() - seen.writtenAt) / 1000))} s (last: ${seen.detail})`);
    seen.since = 0;
    seen.writtenAt = now();
  }

  function report(obj: object, msg: string | undefined): void {
    const kind = msg ?? 'pacspace-metering: problem';
    const at = now();
    const seen = kinds.get(kind);
    const detail = brief(obj);
    if (seen && at - seen.writtenAt < REPEAT_MS) {
      // Repeats are summed and written once the minute is over (an unref'd timer: it never holds the process).
      if (seen.since++ === 0) setTimeout(() => summarize(kind), seen.writtenAt + REPEAT_MS - at).unref?.();
      seen.detail = detail;
      return;
    }
    summarize(kind);
    kinds.set(kind, { writtenAt: at, since: 0, detail });
    emit(`${kind}${detail ? ` - ${detail}` : ''}`);
  }

  const quiet = (): void => undefined;
  return { debug: quiet, info: quiet, warn: report, error: report };
}
