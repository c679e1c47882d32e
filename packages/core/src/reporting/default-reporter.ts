import type { MeteringLogger } from './metering-logger.js';
import { processWarning } from './process-warning.js';
import { createRepeatThrottle } from './repeat-throttle.js';


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
 * minute is over ({@link createRepeatThrottle}). Messages are
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
  const throttle = createRepeatThrottle(write, now);
  const report = (obj: object, msg: string | undefined): void => throttle(msg ?? 'pacspace-metering: problem', brief(obj));

  const quiet = (): void => undefined;
  return { debug: quiet, info: quiet, warn: report, error: report };
}
