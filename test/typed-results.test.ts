// Issue 21, "Must show": a type test. test/fixtures/typed-results.ts misspells result fields under
// `// @ts-expect-error`; it must compile (every directive needed: the result is typed, not `any`),
// and without the directives tsc must name exactly those typos.
import { compileFixture, readFixture, withoutExpectErrors } from './support/type-fixture.js';

const FIXTURE = readFixture('typed-results.ts');
const compile = (source: string) => compileFixture('typed-results', source);

it('compiles the fixture: every @ts-expect-error on a misspelled result field is needed', () => {
  expect(compile(FIXTURE)).toBe('');
});

it('without the directives, tsc names each misspelled field', () => {
  const output = compile(withoutExpectErrors(FIXTURE));
  const missing = [...output.matchAll(/Property '(\w+)' does not exist/g)].map((m) => m[1]);
  expect(missing.sort()).toEqual(['cache', 'page', 'token', 'tokenz']);
  expect(output).toMatch(/'result' is of type 'unknown'/);
});
