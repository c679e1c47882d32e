import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and no whitespace, so two bodies that differ only in
 * key order count as the same request (PacSpace canonicalises the same way for its proofs).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  }
  return `{${parts.join(',')}}`;
}

/** A short digest of the canonical form: what the idempotency stores keep instead of whole bodies. */
export function fingerprint(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** Hex SHA-256, used for deterministic receipt ids and proof roots. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
