// Jest runs in ESM mode (NestJS 12 is ESM-only); @swc/jest strips types and keeps decorator
// metadata. Workspace packages resolve to their sources, so tests never run stale builds.
const swc = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@pacspace-metering/core/(opentelemetry|prometheus|serverless)$': '<rootDir>/packages/core/src/$1/index.ts',
    '^@pacspace-metering/nestjs/terminus$': '<rootDir>/packages/nestjs/src/terminus/index.ts',
    '^@pacspace-metering/hono/fetch$': '<rootDir>/packages/hono/src/fetch.ts',
    '^@pacspace-metering/(core|sandbox|express|fastify|hono|nestjs|sqlite-store|postgres-store|cli)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts', '<rootDir>/examples/*/src/**/*.test.ts'],
  // test/.tmp holds projects the tests write (the README snippets' own Jest tests among them).
  testPathIgnorePatterns: ['/node_modules/', '/\\.tmp/'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
