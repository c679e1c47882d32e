#!/usr/bin/env node
// The consumer test: packs every publishable package, installs the tarballs with plain npm into
// fresh apps (Express 4 CJS, Express 5 ESM strict TS, Nest 11 CJS, Nest 12 ESM, Nest 11 on
// Fastify, a TypeScript 7 project that also runs the READMEs' Jest set-ups as written), builds
// them, starts each against a sandbox run from the sandbox's own tarball, and checks over HTTP: a
// success billed once, a 4xx not billed, SIGTERM delivers what is queued and the app exits 0. An
// app on the SQLite store has its file read afterwards by the `pacspace-metering` command,
// installed from its tarball on its own, as npx installs it.
// Prints one line per app and a summary; exits 1 when any app failed.
//
// Usage: node scripts/consumers/run.mjs [--only name,name] [--keep]
// npm's cache persists in $PACSPACE_CONSUMERS_CACHE (default ~/.cache/pacspace-consumers), so a
// repeat run installs from it (--prefer-offline). The packages must be built first.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkApp } from './lib/checks.mjs';
import { CONSUMERS } from './lib/consumers.mjs';
import { packAll } from './lib/pack.mjs';
import { run, start } from './lib/processes.mjs';
import { writeReadmeProject } from './lib/readme-setup.mjs';
import { nodeBinary, nodeVersion } from './lib/runtimes.mjs';
import { checkReadmeCommand, startSandbox } from './lib/sandbox.mjs';
import { checkRefusedWithoutNodeSqlite, checkStoreFileEmpty, checkStoreMissing } from './lib/sqlite-store-checks.mjs';

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
  await checkReadmeCommand(sandboxDir, join(work, 'sandbox-install.log'));
  console.log('consumers: the READMEs\' sandbox command (npx -y @pacspace-metering/sandbox) runs the installed tarball');

  // The CLI as npx gets it: its tarball alone, in a directory of its own (no store next to it).
  const cliDir = join(work, 'cli');
  mkdirSync(cliDir);
  writeFileSync(join(cliDir, 'package.json'), '{ "name": "consumer-cli", "private": true }\n');
  await npmInstall(cliDir, [tarballs.cli], join(work, 'cli-install.log'));
  await checkStoreMissing(nodeBinary(22), cliDir, join(work, 'cli-install.log'));
  console.log('consumers: the READMEs\' CLI command (npx -y @pacspace-metering/cli) runs the installed tarball, and names the store package it lacks');

  const binaries = new Map(consumers.map((c) => [c.node, nodeBinary(c.node)]));
  const results = [];
  // Two at a time: the machine has two cores, and installs mostly wait on the disk and the cache.
  const queue = [...consumers];
  await Promise.all([0, 1].map(async () => {
    for (let consumer = queue.shift(); consumer; consumer = queue.shift()) {
      results.push(await runConsumer(consumer, binaries.get(consumer.node), tarballs, sandboxDir, cliDir));
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
 * Copies the app and its shared files, and the README projects it runs; returns what npm installs:
 * the tarballs it names, and the packages the READMEs' set-ups install (ours from tarballs too).
 */
function createConsumer(consumer, dir, tarballs) {
  cpSync(join(here, 'apps', consumer.name), dir, { recursive: true });
  for (const pair of consumer.shared) {
    const [from, to] = pair.split(':');
    cpSync(join(here, 'apps', from), join(dir, to));
  }
  const readmePackages = (consumer.readmes ?? []).flatMap((r) => writeReadmeProject(join(repo, r.readme), join(dir, r.dir)));
  const ours = (name) => name.startsWith('@pacspace-metering/') && tarballs[name.slice('@pacspace-metering/'.length)];
  return [...new Set([...consumer.packages.map((name) => tarballs[name]), ...readmePackages.map((name) => ours(name) || name)])];
}

/** Type-checks and runs each README's test project as its text says; returns the ms taken. */
async function runReadmeTests(consumer, dir, node, logPath) {
  const started = Date.now();
  for (const { dir: sub, nodeOptions } of consumer.readmes ?? []) {
    await run(node, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', sub, '--noEmit'], { cwd: dir, logPath, timeoutMs: 300_000 });
    const { stdout } = await run(node, [...nodeOptions, join(dir, 'node_modules/jest/bin/jest.js'), '--ci', '--json'], { cwd: join(dir, sub), logPath, timeoutMs: 300_000 });
    const report = JSON.parse(stdout);
    if (!report.success || report.numPassedTests === 0) throw new Error(`${sub}: jest passed ${report.numPassedTests} of ${report.numTotalTests} tests`);
  }
  return Date.now() - started;
}

/** Versions a README-following consumer ended up with, e.g. 'typescript 7.0.2, jest 30.5.2'. */
function installedVersions(dir, names) {
  return names.map((name) => `${name} ${JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version}`).join(', ');
}

/** Creates, installs, builds, starts and checks one consumer; never throws. */
async function runConsumer(consumer, node, tarballs, sandboxDir, cliDir) {
  const dir = join(work, consumer.name);
  const logPath = join(work, `${consumer.name}.log`);
  const times = { install: 0, build: 0, checks: 0 };
  const result = { name: consumer.name, summary: consumer.summary, version: nodeVersion(node), times, logPath };
  const extras = [];
  let step = 'create';
  let app;
  let sandbox;
  try {
    const specs = createConsumer(consumer, dir, tarballs);
    step = 'npm install';
    times.install = (await npmInstall(dir, specs, logPath)).ms;
    if (consumer.typescript) {
      step = 'tsc';
      times.build = (await run(node, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, logPath, timeoutMs: 300_000 })).ms;
    }
    if (consumer.readmes) {
      step = 'README test set-ups (tsc --noEmit, jest)';
      times.build += await runReadmeTests(consumer, dir, node, logPath);
      extras.push(`READMEs' Jest tests pass as written (${installedVersions(dir, ['typescript', 'jest', '@swc/jest'])})`);
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
    if (consumer.sqliteStore) {
      step = 'pacspace-metering status';
      extras.push(await checkStoreFileEmpty(node, cliDir, dir, env.METERING_DB, logPath));
      step = 'sqlite-store without node:sqlite';
      extras.push(await checkRefusedWithoutNodeSqlite(node, dir, logPath));
    }
    times.checks = Date.now() - checksStarted;
    step = 'sandbox stop';
    await sandbox.stop();
    result.extra = extras.join(', ');
    result.ok = true;
  } catch (error) {
    app?.kill();
    sandbox?.kill();
    Object.assign(result, { ok: false, step, error });
  }
  return result;
}
