import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * A store package the command needs is not installed where it looked; the message says how to get it.
 *
 * @example
 * throw new StorePackageMissing('@pacspace-metering/sqlite-store', '--sqlite', ['/srv/app']);
 */
export class StorePackageMissing extends Error {
  override name = 'StorePackageMissing';

  constructor(packageName: string, flag: string, searchedFrom: readonly string[]) {
    super(
      `${flag} needs ${packageName}, which is not installed in ${searchedFrom[0] ?? 'this directory'}${searchedFrom.length > 1 ? ' nor next to this command' : ''}. ` +
      `Run the command in your app's directory (where the app installed ${packageName}), ` +
      `or install both side by side: npm install --save-dev @pacspace-metering/cli ${packageName}`,
    );
  }
}

/**
 * Loads an optional peer of the CLI (one store package) from the first of `searchFrom` where
 * Node can resolve it: the CLI itself depends on neither store, so `npx -y @pacspace-metering/cli`
 * run in an app's directory uses the store the app installed. Throws {@link StorePackageMissing}
 * when none has it; an installed package that fails to load throws what it threw.
 *
 * @example
 * const { SqliteOutbox } = loadStorePackage<typeof import('@pacspace-metering/sqlite-store')>('@pacspace-metering/sqlite-store', '--sqlite', [process.cwd()]);
 */
export function loadStorePackage<T>(packageName: string, flag: string, searchFrom: readonly string[]): T {
  for (const dir of searchFrom) {
    // createRequire wants a file name; it need not exist, only its directory matters.
    const requireFrom = createRequire(join(dir, 'pacspace-metering-cli.cjs'));
    let resolved: string;
    try {
      resolved = requireFrom.resolve(packageName);
    } catch {
      continue;
    }
    return requireFrom(resolved) as T;
  }
  throw new StorePackageMissing(packageName, flag, searchFrom);
}
