import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

// Consumers load the built package, not the sources Jest maps: a Nest 11-style CommonJS app
// `require()`s dist/cjs (Node >= 20.19 can require the ESM-only Nest 12), an ESM app imports dist/esm.
// Each script runs in its own `node` process from packages/nestjs, so `@pacspace-metering/nestjs`
// resolves through the package's own exports map, and boots a real app with @Metered on port 0.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nestjsDir = join(root, 'packages/nestjs');
const coreDir = join(root, 'packages/core');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Refuses a dist that is missing or older than its sources (the README's test command builds first).
 * It does not rebuild: a rebuild empties dist while other test files load it.
 */
function ensureBuilt(dir: string): void {
  const built = join(dir, 'dist/cjs/index.js');
  const esm = join(dir, 'dist/esm/index.js');
  if (existsSync(built) && existsSync(esm) && Math.min(statSync(built).mtimeMs, statSync(esm).mtimeMs) >= newestSource(join(dir, 'src'))) return;
  throw new Error(`${dir}/dist is missing or older than its sources: run \`npx -y pnpm@12.4.2 run build\` first`);
}

const app = (load: string) => `
${load}
class PingController { ping() { return 'pong'; } }
Reflect.decorate([Get('ping'), Metered('ping')], PingController.prototype, 'ping', Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'));
Reflect.decorate([Controller()], PingController);
class AppModule {}
Reflect.decorate([Module({
  imports: [MeteringModule.forRoot({ apiKey: process.env.SANDBOX_KEY, baseUrl: process.env.SANDBOX_URL, scope: process.env.SCOPE, customerId: () => 'acme', responseHeader: 'x-request-id' })],
  controllers: [PingController],
})], AppModule);
(async () => {
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const res = await fetch((await app.getUrl()) + '/ping', { headers: { connection: 'close' } });
  const body = await res.text();
  await app.close();
  console.log(JSON.stringify({ entry, status: res.status, body, requestId: res.headers.get('x-request-id') }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

const cjs = app(`
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { ExpressAdapter } = require('@nestjs/platform-express');
const entry = require.resolve('@pacspace-metering/nestjs');
const { MeteringModule, Metered } = require('@pacspace-metering/nestjs');
`);

const esm = app(`
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { MeteringModule, Metered } from '@pacspace-metering/nestjs';
const entry = import.meta.resolve('@pacspace-metering/nestjs');
`);

function runNode(args: string[], env: Record<string, string>): Promise<{ entry: string; status: number; body: string; requestId: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, args, { cwd: nestjsDir, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolvePromise(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

describe('the built package', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    ensureBuilt(coreDir);
    ensureBuilt(nestjsDir);
    sandbox = await startSandbox();
  }, 120_000);
  afterAll(async () => {
    await sandbox.close();
  });

  it.each([
    ['require() of dist/cjs from a CommonJS app', ['--input-type=commonjs', '-e', cjs], 'cjs', /dist[\\/]cjs[\\/]index\.js$/],
    ['import of dist/esm from an ES module app', ['--input-type=module', '-e', esm], 'esm', /dist\/esm\/index\.js$/],
  ])('%s boots an app and meters one request', async (_label, args, scope, entryPattern) => {
    const result = await runNode(args as string[], { SANDBOX_KEY: sandbox.apiKey, SANDBOX_URL: sandbox.url, SCOPE: scope as string });
    expect(result.entry).toMatch(entryPattern as RegExp);
    expect(result).toMatchObject({ status: 200, body: 'pong' });
    const deltas = sandbox.ledger().deltas.filter((d) => d.referenceId?.startsWith(`${scope}:`));
    expect(deltas.map((d) => [d.referenceId, d.delta, d.metadata])).toEqual([[`${scope}:ping:acme:${result.requestId}`, -1, { route: '/ping', method: 'GET' }]]);
  });
});
