import { MeteringConfigError } from '../errors.js';

type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

/**
 * A Node built-in module (`node:http`, `node:https`) looked up when it is needed, never imported:
 * an `import` of it would stop core from loading on runtimes that lack it (Cloudflare Workers
 * without `nodejs_compat`, edge runtimes), even when they only ever use the fetch transport.
 * `process.getBuiltinModule` is Node 20.16+, Bun, Deno and workerd's `nodejs_compat`.
 *
 * @throws MeteringConfigError naming `transport` when this runtime has no such module.
 */
export function nodeBuiltin<T>(id: string): T {
  const process = (globalThis as { process?: ProcessWithBuiltins }).process;
  const loaded = typeof process?.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : undefined;
  if (loaded === undefined || loaded === null) {
    throw new MeteringConfigError('transport', `'node' needs ${id}, which this runtime does not offer; use transport 'fetch' or 'auto'`);
  }
  return loaded as T;
}
