// Compiles one TypeScript fixture of test/fixtures in a strict project of its own, for the type
// tests (typed resolver results): they check that a misspelled field is a compile error.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSC = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');

/** The text of `test/fixtures/{name}`. */
export function readFixture(name: string): string {
  return readFileSync(join(ROOT, 'test', 'fixtures', name), 'utf8');
}

/**
 * What tsc says of `source` compiled as `check.ts` in `test/.tmp/{project}` (inside test/, so it
 * resolves the test package's dependencies; `.tmp/` is git-ignored), strict, with `options` added.
 * An empty string: it compiles.
 */
export function compileFixture(project: string, source: string, options: Record<string, unknown> = {}): string {
  const dir = join(ROOT, 'test', '.tmp', project);
  const compilerOptions = {
    target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext',
    strict: true, skipLibCheck: true, types: ['node'], noEmit: true, ...options,
  };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
  writeFileSync(join(dir, 'check.ts'), source);
  const compiled = spawnSync(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
  return `${compiled.stdout}${compiled.stderr}`;
}

/** The fixture without its `// @ts-expect-error` lines: what a typo would meet without them. */
export function withoutExpectErrors(source: string): string {
  return source.replace(/^\s*\/\/ @ts-expect-error.*$/gm, '');
}
