// Issue 21, "Must show", Nest: test/fixtures/typed-results-nestjs.ts misspells result fields in
// `@Metered<Result>` resolvers and `MeteringOperations.run` under `// @ts-expect-error`; it must
// compile (every directive needed: the result is typed, not `any`), and without the directives
// tsc must name exactly those typos.
import { compileFixture, readFixture, withoutExpectErrors } from './support/type-fixture.js';

const FIXTURE = readFixture('typed-results-nestjs.ts');
const compile = (source: string) => compileFixture('typed-results-nestjs', source, { experimentalDecorators: true, emitDecoratorMetadata: true });

it('compiles the Nest fixture: every @ts-expect-error on a misspelled result field is needed', () => {
  expect(compile(FIXTURE)).toBe('');
});

it('without the directives, tsc names each misspelled field', () => {
  const output = compile(withoutExpectErrors(FIXTURE));
  const missing = [...output.matchAll(/Property '(\w+)' does not exist/g)].map((m) => m[1]);
  expect(missing.sort()).toEqual(['cache', 'modle', 'outputToken', 'page']);
});
