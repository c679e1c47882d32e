// The consumer apps: which framework, module system and Node.js each is, which tarballs it
// installs, how it is built and started. Their sources are in ../apps/.

/**
 * One consumer project.
 *
 * @typedef {object} Consumer
 * @property {string} name - also its directory under apps/ and the account it bills
 * @property {string} summary - what it stands for
 * @property {number} node - the Node.js major it runs on
 * @property {string[]} packages - workspace packages (short names) it installs from tarballs
 * @property {string[]} shared - files copied from apps/<from> into it: `from:to`
 * @property {boolean} typescript - compiled with its own tsc before it starts
 * @property {string} main - the file it starts
 * @property {ReadmeTest[]} [readmes] - README test set-ups copied into it, type-checked and run
 * @property {boolean} [sqliteStore] - its app runs the SQLite store (the file is checked after exit, with the CLI)
 */

/**
 * A package README's "Testing your app" project, as its text says to copy, install and run it.
 *
 * @typedef {object} ReadmeTest
 * @property {string} readme - the README, from the repository root
 * @property {string} dir - where its files go inside the consumer
 * @property {string[]} nodeOptions - what the README's Jest command gives Node (NODE_OPTIONS)
 */

/** @type {Consumer[]} */
export const CONSUMERS = [
  {
    name: 'express4-cjs',
    summary: 'Express 4, CommonJS JavaScript',
    node: 22,
    packages: ['core', 'express'],
    shared: [],
    typescript: false,
    main: 'app.js',
  },
  {
    name: 'express5-esm-ts',
    summary: 'Express 5, ESM TypeScript (strict, exactOptionalPropertyTypes, skipLibCheck off)',
    node: 22,
    packages: ['core', 'express'],
    shared: [],
    typescript: true,
    main: 'dist/main.js',
  },
  {
    name: 'hono-node-esm-ts',
    summary: 'Hono 4 on @hono/node-server, ESM TypeScript (strict, exactOptionalPropertyTypes, skipLibCheck off)',
    node: 22,
    packages: ['core', 'hono'],
    shared: [],
    typescript: true,
    main: 'dist/main.js',
  },
  {
    name: 'nest11-cjs',
    summary: 'Nest 11 on Express, TypeScript compiled to CommonJS',
    node: 22,
    packages: ['core', 'nestjs'],
    shared: ['nest-shared/auth.guard.ts:src/auth.guard.ts', 'nest-shared/reports.controller.ts:src/reports.controller.ts', 'nest-shared/shutdown.ts:src/shutdown.ts', 'nest-shared/tsconfig.cjs.json:tsconfig.json'],
    typescript: true,
    main: 'dist/main.js',
  },
  {
    name: 'nest12-esm',
    summary: 'Nest 12 on Express, ESM TypeScript, SQLite store on node:sqlite',
    node: 24,
    packages: ['core', 'nestjs', 'sqlite-store'],
    shared: ['nest-shared/auth.guard.ts:src/auth.guard.ts', 'nest-shared/reports.controller.ts:src/reports.controller.ts', 'nest-shared/shutdown.ts:src/shutdown.ts', 'nest-shared/tsconfig.esm.json:tsconfig.json'],
    typescript: true,
    main: 'dist/main.js',
    sqliteStore: true,
  },
  {
    name: 'fastify5-esm-ts',
    summary: 'Fastify 5 with @pacspace-metering/fastify, ESM TypeScript (strict, exactOptionalPropertyTypes)',
    node: 22,
    packages: ['core', 'fastify'],
    shared: [],
    typescript: true,
    main: 'dist/main.js',
  },
  {
    name: 'nest11-fastify',
    summary: 'Nest 11 on Fastify, TypeScript compiled to CommonJS',
    node: 22,
    packages: ['core', 'nestjs'],
    shared: ['nest-shared/auth.guard.ts:src/auth.guard.ts', 'nest-shared/reports.controller.ts:src/reports.controller.ts', 'nest-shared/shutdown.ts:src/shutdown.ts', 'nest-shared/tsconfig.cjs.json:tsconfig.json'],
    typescript: true,
    main: 'dist/main.js',
  },
  {
    name: 'ts7-jest',
    summary: 'TypeScript 7 from npm: the Express 5 ESM app, every package\'s types as ESM and CJS, the Express and Nest READMEs\' Jest set-ups',
    node: 26,
    packages: ['core', 'express', 'nestjs', 'sandbox', 'sqlite-store', 'postgres-store', 'cli'],
    shared: ['express5-esm-ts/src/main.ts:src/main.ts', 'express5-esm-ts/src/user.d.ts:src/user.d.ts', 'express5-esm-ts/tsconfig.json:tsconfig.json'],
    typescript: true,
    main: 'dist/main.js',
    readmes: [
      { readme: 'packages/express/README.md', dir: 'express-readme', nodeOptions: [] },
      { readme: 'packages/nestjs/README.md', dir: 'nestjs-readme', nodeOptions: ['--experimental-vm-modules'] },
    ],
  },
];
