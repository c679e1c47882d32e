// Issue 14, "Types and first contact": options come from configuration, typed `T | undefined`.
// Under `exactOptionalPropertyTypes` an optional property declared without `| undefined` refuses
// such a value, so `apiKey: process.env.PACSPACE_API_KEY` would not compile. This compiles
// test/fixtures/exact-optional-options.ts (every optional option of every package given an unset
// configuration value) in a strict project against the built packages, runs it, and checks that
// each unset option behaved as its default.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Inside test/, so the fixture resolves the test package's dependencies; `.tmp/` is git-ignored. */
const PROJECT = join(ROOT, 'test', '.tmp', 'exact-optional');
const TSC = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext',
    strict: true, exactOptionalPropertyTypes: true, experimentalDecorators: true, emitDecoratorMetadata: true,
    skipLibCheck: true, types: ['node'], rootDir: '.', outDir: 'dist',
  },
  include: ['*.ts'],
};

beforeAll(() => {
  rmSync(PROJECT, { recursive: true, force: true });
  mkdirSync(PROJECT, { recursive: true });
  writeFileSync(join(PROJECT, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(PROJECT, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  copyFileSync(join(ROOT, 'test', 'fixtures', 'exact-optional-options.ts'), join(PROJECT, 'check.ts'));
});

it('every optional option accepts an unset configuration value (T | undefined) under exactOptionalPropertyTypes, and treats it as its default', () => {
  const compiled = spawnSync(process.execPath, [TSC, '-p', PROJECT, '--pretty', 'false'], { encoding: 'utf8' });
  expect(`${compiled.stdout}${compiled.stderr}`).toBe('');
  expect(compiled.status).toBe(0);

  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CONFIG_') && !name.startsWith('PACSPACE_')));
  // Node 22 warns that node:sqlite (the SQLite store's driver there) is experimental; nothing else may be said.
  const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(PROJECT, 'dist', 'check.js')], { cwd: PROJECT, env, encoding: 'utf8', timeout: 60_000 });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  expect(JSON.parse(run.stdout)).toEqual({
    // Default scope `metering`, reason `api_request`, delta -1; the client's own referenceId.
    billed: [
      ['client-1', 'acme', -1],
      ['metering:api_request:acme', 'acme', -1],
      ['metering:api_request:acme', 'acme', -1],
      ['metering:nest_call:acme', 'acme', -1],
      ['metering:now:acme', 'acme', -1],
    ],
    // Default responseHeader: off, so no call echoes its id.
    headers: [null, null, null],
  });
}, 120_000);
