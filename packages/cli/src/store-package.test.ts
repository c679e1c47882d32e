// Where the command finds the store packages, its optional peers: in the directory it runs in (the
// app's) first, then next to itself; neither installed is an exit 1 that names the package.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_DIR, runCli } from '../test-support/helpers.js';

describe('the store packages', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-store-package-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['status', '--sqlite', 'm.db'], '--sqlite', '@pacspace-metering/sqlite-store'],
    [['dead-letters', 'list', '--postgres', 'postgres://localhost/app'], '--postgres', '@pacspace-metering/postgres-store'],
  ])('%j with the store installed nowhere: exit 1, naming the package and how to install it', (argv, flag, packageName) => {
    // The command installed on its own (as npx installs it in its cache), run in a directory without the store.
    const alone = join(dir, `alone-${flag.slice(2)}`, 'node_modules', '@pacspace-metering', 'cli');
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(PACKAGE_DIR, part), join(alone, part), { recursive: true });
    const elsewhere = join(dir, `elsewhere-${flag.slice(2)}`);
    mkdirSync(elsewhere);
    const { status, stdout, stderr } = spawnSync(process.execPath, [join(alone, 'bin', 'pacspace-metering.cjs'), ...argv], { cwd: elsewhere, encoding: 'utf8' });
    expect({ status, stdout }).toEqual({ status: 1, stdout: '' });
    expect(stderr).toBe(`pacspace-metering: ${flag} needs ${packageName}, which is not installed in ${elsewhere} nor next to this command. Run the command in your app's directory (where the app installed ${packageName}), or install both side by side: npm install --save-dev @pacspace-metering/cli ${packageName}\n`);
  });

  it("uses the store installed in the app's directory before the one next to the command", () => {
    // A stand-in for the app's copy of the store, so the output says which copy answered.
    const app = join(dir, 'app');
    const store = join(app, 'node_modules', '@pacspace-metering', 'sqlite-store');
    mkdirSync(store, { recursive: true });
    writeFileSync(join(store, 'package.json'), JSON.stringify({ name: '@pacspace-metering/sqlite-store', version: '0.0.0-app', main: 'index.js' }));
    writeFileSync(join(store, 'index.js'), `exports.SqliteOutbox = { open: (path) => ({
      path,
      status: () => ({ path: 'the app\\'s store read ' + path, pending: 0, pendingBytes: 0, oldestPendingAcceptedAt: null, nextDueAt: null, byMeter: [], deadLetters: { total: 0, byReason: {} }, openBy: null }),
      close() {},
    }) };\n`);
    const { code, stdout } = runCli(['status', '--sqlite', 'm.db'], app);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^store +the app's store read m\.db$/m);
  });
});
