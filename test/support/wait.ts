/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. For state, never for speed. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Counts unhandled rejections while a suite runs, so a test can assert there were none. */
export function trackUnhandledRejections(): { count(): number; stop(): void } {
  let count = 0;
  const listener = () => {
    count++;
  };
  process.on('unhandledRejection', listener);
  return { count: () => count, stop: () => process.off('unhandledRejection', listener) };
}
