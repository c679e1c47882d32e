/**
 * Character checks for ids on the hot path. A loop over a lookup table costs a fraction of a
 * `RegExp.prototype.test` call for the short ids every delta carries (customerId, request id,
 * reason): the regex call's fixed cost (lastIndex, result bookkeeping) dominates at these lengths.
 */

/** Bit 1: `[A-Za-z0-9_.-]` (a plain referenceId segment). Bit 2: also `:` (a customerId). Bit 4: also `~` (a referenceId). */
const CLASSES = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_.-]/.test(ch)) CLASSES[c] = 1 | 2 | 4;
}
CLASSES[0x3a /* : */] = 2 | 4;
CLASSES[0x7e /* ~ */] = 4;

/** `[A-Za-z0-9_.-]`: the characters of a referenceId segment kept verbatim. */
export const SEGMENT_CHARS = 1;
/** `[A-Za-z0-9_.:-]`: the characters of a customerId. */
export const CUSTOMER_ID_CHARS = 2;
/** `[A-Za-z0-9_.:~-]`: the characters of a referenceId. */
export const REFERENCE_ID_CHARS = 4;

/**
 * Whether `value` is 1 to `maxLength` characters, each in the class `chars`; the same answer as
 * the regex `^[class]{1,maxLength}$`.
 *
 * @example
 * hasOnly('acme-1', CUSTOMER_ID_CHARS, 128); // true
 * hasOnly('a b', CUSTOMER_ID_CHARS, 128); // false
 */
export function hasOnly(value: string, chars: number, maxLength: number): boolean {
  const length = value.length;
  if (length === 0 || length > maxLength) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || (CLASSES[c]! & chars) === 0) return false;
  }
  return true;
}
