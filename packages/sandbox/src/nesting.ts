/** Metadata may nest at most this deep (the metadata object itself is level 1). */
export const MAX_METADATA_DEPTH = 32;

/**
 * How deep each write body may nest: the metadata limit plus the levels above metadata (body;
 * for a batch also `deltas` and the item).
 */
const MAX_BODY_DEPTH: Record<string, number> = {
  delta: 1 + MAX_METADATA_DEPTH,
  'delta/batch': 3 + MAX_METADATA_DEPTH,
  checkpoint: 1 + MAX_METADATA_DEPTH,
};
/** Path segments that name the field at fault: `metadata`, or `deltas[3].metadata` in a batch. */
const FIELD_SEGMENTS: Record<string, number> = { delta: 1, 'delta/batch': 3, checkpoint: 1 };

/**
 * The field of a write body that nests too deep, or undefined. It walks the parsed body without
 * recursion, so even a body of 100,000 levels (which JSON.parse accepts) is measured safely before
 * anything recursive (canonical JSON, structuredClone, JSON.stringify) touches it.
 *
 * @example
 * tooDeepField('delta', { metadata: deep }); // 'metadata'
 */
export function tooDeepField(endpoint: string, body: Record<string, unknown>): string | undefined {
  const limit = MAX_BODY_DEPTH[endpoint] ?? 1 + MAX_METADATA_DEPTH;
  const named = FIELD_SEGMENTS[endpoint] ?? 1;
  const stack: { value: object; depth: number; path: (string | number)[] }[] = [{ value: body, depth: 1, path: [] }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (depth > limit) return formatPath(path);
    const visit = (key: string | number, child: unknown): void => {
      if (child === null || typeof child !== 'object') return;
      // Only the first segments name the field; deeper ones share their parent's path.
      stack.push({ value: child, depth: depth + 1, path: path.length < named ? [...path, key] : path });
    };
    if (Array.isArray(value)) value.forEach((child, i) => visit(i, child));
    else for (const key in value) visit(key, (value as Record<string, unknown>)[key]);
  }
  return undefined;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || 'body';
}
