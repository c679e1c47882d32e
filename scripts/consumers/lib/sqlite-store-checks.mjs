// What a consumer with the SQLite store checks once its app has exited: the store file is empty and
// closed cleanly, and a Node.js without node:sqlite is refused with the error that says so.
import { join } from 'node:path';
import { run } from './processes.mjs';

/**
 * `pacspace-metering status` on the app's store file must show nothing pending and a clean close.
 *
 * @example
 * await checkStoreFileEmpty(node, dir, '/tmp/x/metering.db', logPath);
 */
export async function checkStoreFileEmpty(node, dir, storePath, logPath) {
  const { stdout } = await run(node, [join(dir, 'node_modules/@pacspace-metering/sqlite-store/bin/pacspace-metering.cjs'), 'status', '--store', storePath], { cwd: dir, logPath, timeoutMs: 60_000 });
  if (!/^pending +0$/m.test(stdout) || !/closed cleanly/.test(stdout)) throw new Error(`the store file should hold nothing and be closed cleanly after the app exited:\n${stdout}`);
  return 'store file empty after exit (pacspace-metering status)';
}

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
