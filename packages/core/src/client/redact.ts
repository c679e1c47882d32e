/** What replaces the client's own key in any text that came from the server. */
export const REDACTED = '[REDACTED]';

/**
 * Shorter secrets are too likely to match ordinary text (a 3-character secret would mangle every
 * word containing it); the full key is always redacted.
 */
const MIN_SECRET_PART = 8;

/**
 * Returns a function that removes `apiKey` — the whole key and its secret part (after the first
 * `.`) — from server text, as sent and as JSON would escape it. It runs on the raw response body,
 * so nothing read from it (error message, code, receipt) can carry the key into an error, a stack,
 * a hook or a log.
 *
 * @example
 * const redact = keyRedactor('pk_test_pub.secret123');
 * redact('bad key pk_test_pub.secret123'); // 'bad key [REDACTED]'
 */
export function keyRedactor(apiKey: string): (text: string) => string {
  const secret = apiKey.slice(apiKey.indexOf('.') + 1);
  const plain = secret !== apiKey && secret.length >= MIN_SECRET_PART ? [apiKey, secret] : [apiKey];
  const forms = new Set<string>();
  for (const s of plain) {
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(s.replaceAll('/', '\\/'));
  }
  // Longest first, so the full key is replaced whole before its secret part is looked for.
  const needles = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return out;
  };
}
