// Issue 21, "Must show": a type test. test/fixtures/typed-results.ts misspells result fields under
// `// @ts-expect-error`; it must compile (every directive needed: the result is typed, not `any`),
// and without the directives tsc must name exactly those typos.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Inside test/, so the fixture resolves the test package's dependencies; `.tmp/` is git-ignored. */
const PROJECT = join(ROOT, 'test', '.tmp', 'typed-results');
const TSC = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
const FIXTURE = readFileSync(join(ROOT, 'test', 'fixtures', 'typed-results.ts'), 'utf8');

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext',
    strict: true, skipLibCheck: true, types: ['node'], noEmit: true,
  },
  include: ['*.ts'],
};

function compile(source: string): string {
  rmSync(PROJECT, { recursive: true, force: true });
  mkdirSync(PROJECT, { recursive: true });
  writeFileSync(join(PROJECT, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(PROJECT, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(PROJECT, 'check.ts'), source);
  const compiled = spawnSync(process.execPath, [TSC, '-p', PROJECT, '--pretty', 'false'], { encoding: 'utf8' });
  return `${compiled.stdout}${compiled.stderr}`;
}

it('compiles the fixture: every @ts-expect-error on a misspelled result field is needed', () => {
  expect(compile(FIXTURE)).toBe('');
});

it('without the directives, tsc names each misspelled field', () => {
  const output = compile(FIXTURE.replace(/^\s*\/\/ @ts-expect-error.*$/gm, ''));
  const missing = [...output.matchAll(/Property '(\w+)' does not exist/g)].map((m) => m[1]);
  expect(missing.sort()).toEqual(['cache', 'page', 'token', 'tokenz']);
  expect(output).toMatch(/'result' is of type 'unknown'/);
});
