#!/usr/bin/env node
// The consumer test: packs every publishable package, installs the tarballs with plain npm into
// fresh apps (Express 4 CJS, Express 5 ESM strict TS, Nest 11 CJS, Nest 12 ESM, Nest 11 on
// Fastify), builds them, starts each against a sandbox run from the sandbox's own tarball, and
// checks over HTTP: a success billed once, a 4xx not billed, SIGTERM delivers what is queued and
// the app exits 0. Prints one line per app and a summary; exits 1 when any app failed.
//
// Usage: node scripts/consumers/run.mjs [--only name,name] [--keep]
// npm's cache persists in $PACSPACE_CONSUMERS_CACHE (default ~/.cache/pacspace-consumers), so a
// repeat run installs from it (--prefer-offline). The packages must be built first.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkApp } from './lib/checks.mjs';
import { CONSUMERS } from './lib/consumers.mjs';
import { packAll } from './lib/pack.mjs';
import { run, start } from './lib/processes.mjs';
import { nodeBinary, nodeVersion } from './lib/runtimes.mjs';
import { startSandbox } from './lib/sandbox.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const cacheDir = process.env.PACSPACE_CONSUMERS_CACHE ?? join(homedir(), '.cache', 'pacspace-consumers');
const npmCache = join(cacheDir, 'npm');
const only = flags.only?.split(',');
const consumers = CONSUMERS.filter((c) => !only || only.includes(c.name));
if (only && consumers.length !== only.length) {
  console.error(`--only: unknown consumer among ${only.join(', ')}; there are ${CONSUMERS.map((c) => c.name).join(', ')}`);
  process.exit(2);
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'pacspace-consumers-'));
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const npmInstall = (cwd, specs, logPath) =>
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `--cache=${npmCache}`, ...specs], { cwd, logPath, timeoutMs: 900_000 });

let failed = 0;
try {
  mkdirSync(join(work, 'tarballs'));
  const tarballs = await packAll(join(repo, 'packages'), join(work, 'tarballs'), join(work, 'pack.log'));
  console.log(`consumers: packed ${Object.keys(tarballs).join(', ')} with pnpm pack; work dir ${work}; npm cache ${npmCache}`);

  // The sandbox as a user gets it: its tarball alone, installed with npm, run through its bin.
  const sandboxDir = join(work, 'sandbox');
  mkdirSync(sandboxDir);
  writeFileSync(join(sandboxDir, 'package.json'), '{ "name": "consumer-sandbox", "private": true }\n');
  await npmInstall(sandboxDir, [tarballs.sandbox], join(work, 'sandbox-install.log'));

  const binaries = new Map(consumers.map((c) => [c.node, nodeBinary(c.node)]));
  const results = [];
  // Two at a time: the machine has two cores, and installs mostly wait on the disk and the cache.
  const queue = [...consumers];
  await Promise.all([0, 1].map(async () => {
    for (let consumer = queue.shift(); consumer; consumer = queue.shift()) {
      results.push(await runConsumer(consumer, binaries.get(consumer.node), tarballs, sandboxDir));
    }
  }));
  for (const consumer of consumers) {
    const r = results.find((x) => x.name === consumer.name);
    if (r.ok) {
      console.log(`PASS ${r.name} (${r.summary}; node ${r.version}): 2xx billed once, 4xx not billed, SIGTERM delivered ${r.seen.flushed}/${r.seen.flushed} (${r.seen.deliveredAfterSigterm} after the signal), exit 0${r.extra ? `, ${r.extra}` : ''} [install ${seconds(r.times.install)}, build ${seconds(r.times.build)}, checks ${seconds(r.times.checks)}]`);
    } else {
      failed += 1;
      console.log(`FAIL ${r.name} (${r.summary}; node ${r.version}) at ${r.step}: ${r.error.message}\n  log: ${r.logPath}`);
    }
  }
  console.log(`consumers: ${consumers.length - failed} passed, ${failed} failed in ${seconds(Date.now() - started)}`);
} catch (err) {
  failed += 1;
  console.log(`consumers: FAILED before the apps ran: ${err.message}\n  logs in ${work}`);
}
if (!flags.keep && failed === 0) rmSync(work, { recursive: true, force: true });
process.exit(failed === 0 ? 0 : 1);

/**
 * Node 20 has no node:sqlite and this app did not install better-sqlite3 (an optional peer): the
 * store must refuse to open with the error that says what to install, from both builds.
 */
async function checkMissingBetterSqlite3(dir, logPath) {
  const node20 = nodeBinary(20);
  const open = "createSqliteStore({ path: 'never.db' })";
  const scripts = [
    ['--input-type=commonjs', `const { createSqliteStore } = require('@pacspace-metering/sqlite-store'); try { ${open}; console.log('opened'); } catch (e) { console.log(e.name, e.message); }`],
    ['--input-type=module', `import { createSqliteStore } from '@pacspace-metering/sqlite-store'; try { ${open}; console.log('opened'); } catch (e) { console.log(e.name, e.message); }`],
  ];
  for (const [type, source] of scripts) {
    const { stdout } = await run(node20, [type, '-e', source], { cwd: dir, logPath, timeoutMs: 60_000 });
    if (!/^MeteringConfigError driver: .*better-sqlite3 package, which is not installed\. Install it: npm install better-sqlite3@12/.test(stdout.trim())) {
      throw new Error(`${type}: expected the store to refuse with a MeteringConfigError naming driver and npm install better-sqlite3@12, got: ${stdout.trim()}`);
    }
  }
  return 'Node 20 without better-sqlite3: refused naming driver and npm install better-sqlite3@12 (CJS and ESM)';
}

/** Creates, installs, builds, starts and checks one consumer; never throws. */
async function runConsumer(consumer, node, tarballs, sandboxDir) {
  const dir = join(work, consumer.name);
  const logPath = join(work, `${consumer.name}.log`);
  const times = { install: 0, build: 0, checks: 0 };
  const result = { name: consumer.name, summary: consumer.summary, version: nodeVersion(node), times, logPath };
  let step = 'create';
  let app;
  let sandbox;
  try {
    cpSync(join(here, 'apps', consumer.name), dir, { recursive: true });
    for (const pair of consumer.shared) {
      const [from, to] = pair.split(':');
      cpSync(join(here, 'apps', from), join(dir, to));
    }
    step = 'npm install';
    times.install = (await npmInstall(dir, consumer.packages.map((name) => tarballs[name]), logPath)).ms;
    if (consumer.typescript) {
      step = 'tsc';
      times.build = (await run(node, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, logPath, timeoutMs: 300_000 })).ms;
    }
    step = 'sandbox';
    sandbox = await startSandbox(sandboxDir, logPath);
    step = 'start';
    const checksStarted = Date.now();
    const env = { ...process.env, PORT: '0', PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url, METERING_DB: join(dir, 'metering.db'), NODE_ENV: 'production' };
    app = start(node, [consumer.main], { cwd: dir, env, logPath });
    const [, appUrl] = await app.waitFor(/listening on (http:\/\/\S+)/, 90_000);
    step = 'checks';
    result.seen = await checkApp({ appUrl: appUrl.replace('[::1]', '127.0.0.1'), app, sandbox, account: `acct-${consumer.name}` });
    if (consumer.packages.includes('sqlite-store')) {
      step = 'pacspace-metering status';
      const { stdout } = await run(node, [join(dir, 'node_modules/@pacspace-metering/sqlite-store/bin/pacspace-metering.cjs'), 'status', '--store', env.METERING_DB], { cwd: dir, logPath, timeoutMs: 60_000 });
      if (!/^pending +0$/m.test(stdout) || !/closed cleanly/.test(stdout)) throw new Error(`the store file should hold nothing and be closed cleanly after the app exited:\n${stdout}`);
      result.extra = 'store file empty after exit (pacspace-metering status)';
      step = 'sqlite-store on Node 20 without better-sqlite3';
      result.extra += `, ${await checkMissingBetterSqlite3(dir, logPath)}`;
    }
    times.checks = Date.now() - checksStarted;
    step = 'sandbox stop';
    await sandbox.stop();
    result.ok = true;
  } catch (error) {
    app?.kill();
    sandbox?.kill();
    Object.assign(result, { ok: false, step, error });
  }
  return result;
}
