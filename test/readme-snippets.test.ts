// Issue #13, item 13: every TypeScript or JavaScript snippet of every README compiles, in one strict
// project (`strict`, `exactOptionalPropertyTypes`) against the built packages, with no more than the
// prelude stated next to it (see test/support/readme-snippets.ts); and the snippets that can run
// do, as real processes against the sandbox, and do what their text says.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmePaths, snippetsOf, type Snippet } from './support/readme-snippets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Inside test/, so the snippets resolve the test package's dependencies; `.tmp/` is git-ignored. */
const PROJECT = join(ROOT, 'test', '.tmp', 'readme-snippets');
const TSC = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
const JEST = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: ['node', 'jest'],
    rootDir: '.',
    outDir: 'dist',
  },
  include: ['**/*.ts'],
  exclude: ['dist'],
};

/**
 * `@pacspace-io/sdk` cannot be installed from the registry these machines reach; this is the
 * client shape the root README documents for it (`client.balance.emit(...)`).
 */
const SDK_DECLARATION = `declare module '@pacspace-io/sdk' {
  export class PacSpace {
    constructor(options: { apiKey: string | undefined });
    balance: { emit(customerId: string, delta: number, reason: string, options?: { referenceId?: string; idempotencyKey?: string; metadata?: Record<string, unknown> }): Promise<unknown> };
  }
}
`;

/** Starts a compiled Nest quick start (its exported AppModule), sends a few calls as an authenticated customer, closes it. */
const NEST_RUNNER = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
const { AppModule } = await import(new URL(process.argv[2], import.meta.url).href);
const app = await NestFactory.create(AppModule, { logger: false });
app.use((req, _res, next) => { req.user = { accountId: 'acme' }; next(); }); // what the README's auth would set
await app.listen(0, '127.0.0.1');
const url = await app.getUrl();
for (const [method, path] of [['POST', '/reports'], ['GET', '/reports/42'], ['GET', '/reports/health']]) {
  const res = await fetch(url + path, { method });
  await res.arrayBuffer();
  console.log(JSON.stringify({ method, path, status: res.status }));
}
await app.close();
`;

/**
 * Preloaded into the README's first-contact apps, which listen on port 3000 as the README says:
 * each test run gets a port of its own instead, announced on stdout.
 */
const LISTEN_ANYWHERE = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] === 3000) args[0] = 0;
  else if (args[0] !== null && typeof args[0] === 'object' && args[0].port === 3000) args[0] = { ...args[0], port: 0, host: '127.0.0.1' };
  this.once('listening', () => process.stdout.write('LISTENING ' + this.address().port + '\\n'));
  return listen.apply(this, args);
};
`;

interface Compiled {
  snippet: Snippet;
  file: string;
  /** Lines of prelude in front of the snippet's code. */
  offset: number;
}

/** Where a snippet goes in the project: `{readme}_L{line}.ts`, or `{readme}/{file}` when the README names its file. */
function fileName(snippet: Snippet): string {
  const readme = snippet.readme.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '_');
  return snippet.file ? `${readme}/${snippet.file}` : `${readme}_L${snippet.line}.ts`;
}

/** Writes the project; returns where each snippet went. */
function writeProject(snippets: Snippet[]): Compiled[] {
  rmSync(PROJECT, { recursive: true, force: true });
  mkdirSync(PROJECT, { recursive: true });
  writeFileSync(join(PROJECT, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(PROJECT, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(PROJECT, 'pacspace-io-sdk.d.ts'), SDK_DECLARATION);
  writeFileSync(join(PROJECT, 'run-nest.mjs'), NEST_RUNNER);
  writeFileSync(join(PROJECT, 'listen-anywhere.mjs'), LISTEN_ANYWHERE);
  return snippets.map((snippet) => {
    const file = fileName(snippet);
    mkdirSync(dirname(join(PROJECT, file)), { recursive: true });
    // `export {}` makes every snippet a module of its own (top-level await, no shared names).
    writeFileSync(join(PROJECT, file), `${snippet.prelude}\n${snippet.code}\nexport {};\n`);
    return { snippet, file, offset: snippet.prelude.split('\n').length };
  });
}

/** tsc's errors, each as `README.md:LINE: TSxxxx message` (or `... (prelude)`). */
function compileErrors(compiled: Compiled[]): string[] {
  const result = spawnSync(process.execPath, [TSC, '-p', PROJECT, '--pretty', 'false'], { encoding: 'utf8' });
  const byFile = new Map(compiled.map((c) => [c.file, c]));
  const errors: string[] = [];
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (!match) {
      if (line.includes('error')) errors.push(line);
      continue;
    }
    const where = byFile.get(relative(PROJECT, resolve(match[1]!)));
    const fileLine = Number(match[2]);
    if (where === undefined) errors.push(line);
    else if (fileLine <= where.offset) errors.push(`${where.snippet.readme}:${where.snippet.line} (prelude line ${fileLine}): ${match[3]} ${match[4]}`);
    else errors.push(`${where.snippet.readme}:${where.snippet.line + fileLine - where.offset - 1}: ${match[3]} ${match[4]}`);
  }
  if (result.status !== 0 && errors.length === 0) errors.push(`tsc exited with ${result.status}: ${result.stdout}${result.stderr}`);
  return errors;
}

/**
 * Runs `node args` in the project with the sandbox as PacSpace (or, without one, with no PacSpace
 * variables at all); resolves with the exit code and output.
 */
function runNode(args: string[], sandbox: Sandbox | undefined, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.PACSPACE_API_KEY;
  delete env.PACSPACE_BASE_URL;
  if (sandbox) Object.assign(env, { PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url });
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * Starts a README's server snippet (compiled, `node --import ./listen-anywhere.mjs`) with the
 * sandbox as PacSpace, sends one GET as customer `acme`, waits until the sandbox's ledger holds a
 * delta (or 20 s pass), stops the app; resolves with what the app said and the answer's status.
 */
async function callServerSnippet(file: string, sandbox: Sandbox, path: string): Promise<{ status: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url };
  const child = spawn(process.execPath, ['--import', './listen-anywhere.mjs', file], { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /LISTENING (\d+)/.exec(stdout);
        if (match) resolvePort(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`the app exited (${code}) before listening: ${stderr}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-account': 'acme' } });
    await res.arrayBuffer();
    const deadline = Date.now() + 20_000;
    while (sandbox.ledger().deltas.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { status: res.status, stderr };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const snippets = readmePaths(ROOT).flatMap((path) => snippetsOf(path, ROOT));
const compiled = writeProject(snippets);
const errors = compileErrors(compiled);

describe('README snippets', () => {
  it('finds the snippets of every README', () => {
    const readmes = new Set(snippets.map((s) => s.readme));
    for (const readme of ['README.md', 'packages/core/README.md', 'packages/express/README.md', 'packages/fastify/README.md', 'packages/hono/README.md', 'packages/nestjs/README.md', 'packages/sandbox/README.md', 'packages/sqlite-store/README.md', 'packages/postgres-store/README.md', 'packages/cli/README.md']) {
      expect(readmes).toContain(readme);
    }
    expect(snippets.length).toBeGreaterThanOrEqual(17);
  });

  it('all compile in one strict project (strict, exactOptionalPropertyTypes) against the built packages', () => {
    expect(errors).toEqual([]);
  });

  describe('run against the sandbox, as processes', () => {
    let sandbox: Sandbox;
    beforeAll(async () => {
      sandbox = await startSandbox();
    });
    afterAll(() => sandbox.close());
    beforeEach(() => sandbox.reset());

    /** The compiled JavaScript of the snippet marked `run=name` (which must exist). */
    const script = (name: string) => {
      const found = compiled.filter((c) => c.snippet.run === name);
      expect(found).toHaveLength(1);
      return join('dist', found[0]!.file.replace(/\.ts$/, '.js'));
    };
    const billed = () => sandbox.ledger().deltas.map((d) => [d.referenceId, d.delta]).sort();

    it("core README, the Meter's methods: enqueue, emit, flush and close deliver both deltas under the referenceIds it shows", async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('meter-methods')], sandbox);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(billed()).toEqual([
        ['reports-api:api_request:acme:req-42', -1],
        ['reports-api:export:acme:req-43', -50],
      ]);
    });

    it('core README: the enqueued delta is delivered by close()', async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('core-quick-start')], sandbox);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(billed()).toEqual([['reports-api:api_request:acme:req-42', -1]]);
    });

    it('core README, local development: with NODE_ENV=development and no key, the dry run accepts and "delivers" without PacSpace, and says so', async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('core-dry-run')], undefined, { NODE_ENV: 'development' });
      expect(run).toMatchObject({ code: 0, stdout: 'true 1\n' });
      expect(run.stderr).toContain('[PACSPACE_METERING]');
      expect(run.stderr).toMatch(/enabled: false/);
      // Issue 21: the dry run shows each delta it would have billed.
      expect(run.stderr).toContain('pacspace-metering (dry run): would bill acme -1 for api_request (referenceId reports-api:api_request:acme:req-42)');
      expect(billed()).toEqual([]);
    });

    it('core README, local development: outside development the same snippet is live, and without a key it fails at start-up naming apiKey', async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('core-dry-run')], undefined, { NODE_ENV: 'production' });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('apiKey: must be a PacSpace API key');
    });

    it('hono README, "Testing your app": app.request() through the middleware bills the sandbox it starts, with the route pattern', async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('hono-testing')], undefined);
      expect(run).toMatchObject({ code: 0, stderr: '', stdout: "[ [ 'acme', -1, '/reports/:id' ] ]\n" });
    });

    it.each(['packages/express/README.md', 'packages/nestjs/README.md'])(
      '%s, "Testing your app": its Jest test passes as written, pointing the app\'s own Meter at a sandbox it starts',
      async (readme) => {
        expect(errors).toEqual([]);
        const tests = compiled.filter((c) => c.snippet.readme === readme && c.snippet.file?.endsWith('.test.ts'));
        expect(tests).toHaveLength(1);
        const testFile = join('dist', tests[0]!.file.replace(/\.ts$/, '.js'));
        // The compiled test, run by Jest as a user would run it; no PACSPACE_* variables given.
        const config = { rootDir: join(PROJECT, 'dist'), testEnvironment: 'node', transform: {}, testMatch: [join(PROJECT, testFile)], watchman: false };
        const run = await runNode(['--experimental-vm-modules', JEST, '--config', JSON.stringify(config), '--ci', '--colors=false'], undefined);
        expect({ code: run.code, output: run.stderr }).toMatchObject({ code: 0 });
        expect(run.stderr).toMatch(/Tests:\s+2 passed, 2 total/);
      },
      120_000,
    );

    // Issue 22: the balance gate's and the correction's snippets, as their comments say.
    it('core README, balance gate: a balance of 3 admits 3 of 5 concurrent checks with one balance read, and bills the 3', async () => {
      expect(errors).toEqual([]);
      sandbox.topUp('acme', 3);
      const run = await runNode([script('core-gate')], sandbox);
      expect(run).toMatchObject({ code: 0, stderr: '', stdout: '[ true, true, true, false, false ]\n1\n' });
      expect(sandbox.ledger().deltas.reduce((sum, d) => sum + d.delta, 0)).toBe(0);
    });

    it('core README, corrections: the failed export is billed, then reversed through adjusts under the referenceId it prints', async () => {
      expect(errors).toEqual([]);
      const run = await runNode([script('core-correction')], sandbox);
      expect(run).toMatchObject({ code: 0, stderr: '', stdout: 'exports-api:export:acme:job-7~reversal\n' });
      expect(sandbox.ledger().deltas.map((d) => [d.referenceId, d.delta, d.adjusts?.referenceId ?? null])).toEqual([
        ['exports-api:export:acme:job-7', -10, null],
        ['exports-api:export:acme:job-7~reversal', 10, 'exports-api:export:acme:job-7'],
      ]);
    });

    // Issue 24, first contact: each framework README's smallest app, as its text runs it.
    it.each([
      ['express-first-contact', '/reports/42', '/reports/:id'],
      ['fastify-first-contact', '/reports', '/reports'],
      ['hono-first-contact', '/reports/42', '/reports/:id'],
      ['nest-first-contact', '/reports/42', '/reports/:id'],
    ])('%s: the smallest app bills -1 for the caller of GET %s, against the sandbox', async (name, path, route) => {
      expect(errors).toEqual([]);
      const { status, stderr } = await callServerSnippet(script(name), sandbox, path);
      expect(status).toBe(200);
      expect(stderr).toBe('');
      expect(sandbox.ledger().deltas.map((d) => [d.customerId, d.reason, d.delta, d.metadata])).toEqual([
        ['acme', name.startsWith('nest') ? 'report_viewed' : 'api_request', -1, { route, method: 'GET' }],
      ]);
    });

    it('sqlite-store README, first contact: the delta goes through the file and is delivered by close()', async () => {
      expect(errors).toEqual([]);
      rmSync(join(PROJECT, 'metering.db'), { force: true });
      const run = await runNode([script('sqlite-first-contact')], sandbox);
      // Node 22 says node:sqlite is experimental, once per process (the README's Supported runtimes says so too).
      const stderr = run.stderr.replace(/^\(node:\d+\) ExperimentalWarning: SQLite is an experimental feature.*\n(\(Use `node --trace-warnings.*\n)?/m, '');
      expect({ ...run, stderr }).toMatchObject({ code: 0, stderr: '', stdout: '1\n' });
      expect(billed()).toEqual([['reports-api:api_request:acme:req-42', -1]]);
    });

    it.each(['nest-quick-start', 'nest-package-quick-start'])('%s: the controller is mounted, both paid routes bill, the health check does not', async (name) => {
      expect(errors).toEqual([]);
      const run = await runNode(['run-nest.mjs', script(name)], sandbox);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
        { method: 'POST', path: '/reports', status: 201 },
        { method: 'GET', path: '/reports/42', status: 200 },
        { method: 'GET', path: '/reports/health', status: 200 },
      ]);
      const deltas = sandbox.ledger().deltas.map((d) => [d.customerId, d.reason, d.delta, d.metadata]);
      expect(deltas.sort()).toEqual([
        ['acme', 'report_generated', -5, { route: '/reports', method: 'POST' }],
        ['acme', 'report_viewed', -1, { route: '/reports/:id', method: 'GET' }],
      ]);
    });
  });
});
