import { processWarning } from './process-warning.js';

/**
 * A store's default `onError`: the error as a process warning (its `code` kept), at most one a
 * minute, since a database that is down or a full disk fails every write.
 *
 * @example
 * const reportError = options.onError ?? warnAtMostEveryMinute();
 * reportError(new SqliteStoreError('STORE_WRITE_FAILED', 'disk full'));
 */
export function warnAtMostEveryMinute<E extends Error & { code: string }>(): (error: E) => void {
  let lastWarnedAt = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastWarnedAt < 60_000) return;
    lastWarnedAt = now;
    processWarning(error.message, error.code);
  };
}
