// Packs every publishable workspace package the way a release does: `pnpm pack` rewrites the
// `workspace:^` ranges into real versions (plain `npm pack` would leave them, and npm refuses them).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.mjs';

/**
 * Packs each non-private package under `packagesDir` into `outDir`; returns `{ short name: tarball path }`
 * (`core`, `express`, ...). Fails when a package is not built (its `main` file is missing).
 *
 * @example
 * const tarballs = await packAll('/repo/packages', '/tmp/x/tarballs', '/tmp/x/pack.log');
 * tarballs.express; // '/tmp/x/tarballs/pacspace-metering-express-0.1.0.tgz'
 */
export async function packAll(packagesDir, outDir, logPath) {
  const tarballs = {};
  for (const dir of readdirSync(packagesDir).sort()) {
    const manifestPath = join(packagesDir, dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private) continue;
    if (manifest.main && !existsSync(join(packagesDir, dir, manifest.main))) {
      throw new Error(`${manifest.name} is not built (${manifest.main} is missing): run npx -y pnpm@12.4.2 run build first`);
    }
    const { stdout } = await run('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', outDir], { cwd: join(packagesDir, dir), logPath, timeoutMs: 120_000 });
    const tarball = stdout.trim().split('\n').reverse().find((line) => line.endsWith('.tgz'));
    if (!tarball || !existsSync(tarball)) throw new Error(`pnpm pack printed no tarball for ${manifest.name}:\n${stdout}`);
    tarballs[dir] = tarball;
  }
  return tarballs;
}
