import { processWarning } from '../reporting/process-warning.js';
import { createRepeatThrottle } from '../reporting/repeat-throttle.js';

/**
 * A store's default `onError`: the error as a process warning (its `code` kept), through the
 * once-a-minute throttle ({@link createRepeatThrottle}), since a database that is down or a full
 * disk fails every write: the first of each code at once, the repeats of the minute counted in one
 * line when it is over.
 *
 * @example
 * const reportError = options.onError ?? warnAtMostEveryMinute();
 * reportError(new SqliteStoreError('STORE_WRITE_FAILED', 'disk full'));
 * // (node:1234) [STORE_WRITE_FAILED] Warning: pacspace-metering: store error STORE_WRITE_FAILED - disk full
 */
export function warnAtMostEveryMinute<E extends Error & { code: string }>(): (error: E) => void {
  const byCode = new Map<string, (kind: string, detail: string) => void>();
  return (error) => {
    let report = byCode.get(error.code);
    if (!report) {
      const code = error.code;
      report = createRepeatThrottle((line) => processWarning(line, code));
      byCode.set(code, report);
    }
    report(`pacspace-metering: store error ${error.code}`, error.message);
  };
}
