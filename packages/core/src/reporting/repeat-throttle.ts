/** How often the same kind of problem is written out again, at most. */
export const REPEAT_MS = 60_000;

/**
 * The one once-a-minute throttle: the first report of a kind is written at once; repeats within
 * the minute are counted and written as one summary line when the minute is over (an unref'd
 * timer: it never holds the process). Nothing is dropped unsaid. Used by the default reporter
 * (kinds: log messages) and by the stores' default `onError` (one kind per error code).
 *
 * @example
 * const report = createRepeatThrottle((line) => process.emitWarning(line));
 * report('pacspace-metering: delta refused (queue_full)', 'customer acme');
 */
export function createRepeatThrottle(write: (line: string) => void, now: () => number = Date.now): (kind: string, detail: string) => void {
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

  return (kind, detail) => {
    const at = now();
    const seen = kinds.get(kind);
    if (seen && at - seen.writtenAt < REPEAT_MS) {
      if (seen.since++ === 0) setTimeout(() => summarize(kind), seen.writtenAt + REPEAT_MS - at).unref?.();
      seen.detail = detail;
      return;
    }
    summarize(kind);
    kinds.set(kind, { writtenAt: at, since: 0, detail });
    emit(`${kind}${detail ? ` - ${detail}` : ''}`);
  };
}
