/**
 * @internal An error as one log-safe line: `Name: message` for an Error, else its string form.
 *
 * @example
 * errorText(new TypeError('boom')); // 'TypeError: boom'
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
