// What a consumer with the SQLite store checks once its app has exited: the store file is empty and
// closed cleanly (read by the CLI), and a Node.js without node:sqlite is refused with the error
// that says so. And the CLI installed alone names the store package it lacks.
import { join } from 'node:path';
import { run } from './processes.mjs';

/**
 * `pacspace-metering status --sqlite` on the app's store file must show nothing pending and a clean
 * close. The command runs from its own install (`cliDir`, as npx installs it) in the app's
 * directory, where it must find the app's `@pacspace-metering/sqlite-store`.
 *
 * @example
 * await checkStoreFileEmpty(node, '/tmp/x/cli', '/tmp/x/nest12-esm', '/tmp/x/nest12-esm/metering.db', logPath);
 */
export async function checkStoreFileEmpty(node, cliDir, appDir, storePath, logPath) {
  const { stdout } = await run(node, [cliBin(cliDir), 'status', '--sqlite', storePath], { cwd: appDir, logPath, timeoutMs: 60_000 });
  if (!/^pending +0$/m.test(stdout) || !/closed cleanly/.test(stdout)) throw new Error(`the store file should hold nothing and be closed cleanly after the app exited:\n${stdout}`);
  return 'store file empty after exit (npx -y @pacspace-metering/cli status --sqlite, run in the app)';
}

/**
 * Where the CLI is installed alone, the READMEs' `npx -y @pacspace-metering/cli --help` runs the
 * installed tarball (never the registry's), and `status --sqlite` there, with no store installed,
 * exits 1 naming `@pacspace-metering/sqlite-store` and how to install it.
 *
 * @example
 * await checkStoreMissing(process.execPath, '/tmp/x/cli', logPath);
 */
export async function checkStoreMissing(node, cliDir, logPath) {
  const { stdout } = await run('npx', ['-y', '@pacspace-metering/cli', '--help'], { cwd: cliDir, logPath, timeoutMs: 120_000 });
  if (!stdout.startsWith('Usage: pacspace-metering')) throw new Error(`npx -y @pacspace-metering/cli --help printed no usage:\n${stdout}`);
  const refused = await run(node, [cliBin(cliDir), 'status', '--sqlite', 'metering.db'], { cwd: cliDir, logPath, timeoutMs: 60_000 }).then(() => 'exit 0', (error) => error.message);
  if (!/exit 1\)[^]*--sqlite needs @pacspace-metering\/sqlite-store[^]*npm install --save-dev @pacspace-metering\/cli @pacspace-metering\/sqlite-store/.test(refused)) {
    throw new Error(`without the store installed, status --sqlite should exit 1 naming @pacspace-metering/sqlite-store; got: ${refused}`);
  }
}

const cliBin = (cliDir) => join(cliDir, 'node_modules/@pacspace-metering/cli/bin/pacspace-metering.cjs');

/**
 * With node:sqlite turned off (as on Node 20, which has none), opening a store from the installed
 * package must fail with UNSUPPORTED_RUNTIME naming the fix, from both builds.
 *
 * @example
 * await checkRefusedWithoutNodeSqlite(node, dir, logPath); // 'without node:sqlite: refused ...'
 */
export async function checkRefusedWithoutNodeSqlite(node, dir, logPath) {
  const open = "createSqliteStore({ path: 'never.db' })";
  const attempt = `try { ${open}; console.log('opened'); } catch (e) { console.log(e.code, e.message); }`;
  const scripts = [
    ['--input-type=commonjs', `const { createSqliteStore } = require('@pacspace-metering/sqlite-store'); ${attempt}`],
    ['--input-type=module', `import { createSqliteStore } from '@pacspace-metering/sqlite-store'; ${attempt}`],
  ];
  for (const [type, source] of scripts) {
    const { stdout } = await run(node, ['--no-experimental-sqlite', type, '-e', source], { cwd: dir, logPath, timeoutMs: 60_000 });
    if (!/^UNSUPPORTED_RUNTIME .*needs node:sqlite.*Node\.js 22\.13\+ and 24\+.*Upgrade Node\.js\.$/.test(stdout.trim())) {
      throw new Error(`${type}: expected the store to refuse with UNSUPPORTED_RUNTIME naming Node.js 22.13+ and 24+, got: ${stdout.trim()}`);
    }
  }
  return 'without node:sqlite: refused with UNSUPPORTED_RUNTIME (CJS and ESM)';
}
