// CommonJS on purpose: the one way to load an optional package synchronously from both the ESM
// and the CommonJS build (a store is opened in a constructor, so `await import()` cannot be used).

/**
 * `require(id)` resolved from this package's location; throws what `require` throws (a
 * `MODULE_NOT_FOUND` when the package is not installed, an `ERR_DLOPEN_FAILED` when its native
 * part was built for another Node.js).
 *
 * @example
 * const BetterSqlite3 = requireOptional('better-sqlite3');
 */
export function requireOptional(id: string): unknown {
  return require(id);
}
