/**
 * Writes a warning where the process's own warnings go: `process.emitWarning` (stderr, with
 * `code`) on Node, Bun and Deno; `console.warn` where there is none (Cloudflare Workers, whose
 * console is the Worker's log).
 *
 * @example
 * processWarning('pacspace-metering: delta refused (queue_full)', 'PACSPACE_METERING');
 */
export function processWarning(message: string, code: string): void {
  const process = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }).process;
  if (typeof process?.emitWarning === 'function') process.emitWarning(message, { code });
  else console.warn(`[${code}] Warning: ${message}`);
}
