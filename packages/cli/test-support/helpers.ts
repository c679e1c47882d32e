// Test helpers for @pacspace-metering/cli: the built `pacspace-metering` command, run as users run
// it. Not part of the package.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(PACKAGE_DIR, 'bin', 'pacspace-metering.cjs');

/**
 * Runs the built command (bin -> dist/cjs/cli.js) in `cwd` (default: this process's), where it
 * looks for the store packages first; resolves with its exit code and output.
 */
export function runCli(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...(cwd !== undefined ? { cwd } : {}) });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
