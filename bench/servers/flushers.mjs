// What a variant still holds when its measured window ends (a partial batch): the server process
// flushes it on the harness's request, so the sink's received count covers every request sent.
const flushers = [];

/** Registers `fn` (returning a promise) to be awaited by {@link flushAll}. */
export function onBenchFlush(fn) {
  flushers.push(fn);
}

/** Awaits every registered flusher; a failed one is said on stderr and does not stop the others. */
export async function flushAll() {
  await Promise.all(flushers.map((fn) => Promise.resolve().then(fn).catch((err) => process.stderr.write(`flush failed: ${err?.message ?? err}\n`))));
}
