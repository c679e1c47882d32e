import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { CliUsageError, parseCliArgs } from './cli.js';

const srcDir = dirname(fileURLToPath(import.meta.url));

describe('parseCliArgs', () => {
  it('maps every flag onto sandbox options', () => {
    const parsed = parseCliArgs([
      '--port', '0', '--host', '127.0.0.1', '--api-key', 'pk_test_x.y', '--seed', '9',
      '--latency-ms', '5-10', '--server-error-rate', '0.2', '--rate-limit-rate', '0.05', '--retry-after', '3',
      '--reset-rate', '0.1', '--commit-drop-rate', '0.1', '--cadence-customer', 'cust_9',
      '--queued-ms', '500', '--processing-ms', '1500',
    ]);
    expect(parsed).toEqual({
      help: false,
      options: {
        port: 0,
        host: '127.0.0.1',
        apiKey: 'pk_test_x.y',
        seed: 9,
        verification: { queuedMs: 500, processingMs: 1500 },
        faults: {
          latencyMs: { min: 5, max: 10 },
          serverError: { rate: 0.2 },
          rateLimit: { rate: 0.05, retryAfterSeconds: 3 },
          resetBeforeProcessing: { rate: 0.1 },
          commitThenDrop: { rate: 0.1 },
          cadenceLimit: { customerId: 'cust_9', retryAfterSeconds: 3 },
        },
      },
    });
    expect(parseCliArgs([])).toEqual({ help: false, options: { port: 4010, faults: {} } });
    expect(parseCliArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--server-error-rate', '2'], '--server-error-rate'],
    [['--latency-ms', '9-1'], '--latency-ms'],
    [['--retry-after', '-1', '--rate-limit-rate', '1'], '--retry-after'],
    [['--cadence-customer', 'a b'], '--cadence-customer'],
    [['--bogus'], '--bogus'],
    [['--port'], '--port'],
    [['--queued-ms', '-5'], '--queued-ms'],
  ])('rejects %j naming %s', (argv, flag) => {
    expect(() => parseCliArgs(argv)).toThrow(CliUsageError);
    expect(() => parseCliArgs(argv)).toThrow(flag);
  });
});

describe('pacspace-sandbox command', () => {
  // The real bin, with the current sources transpiled next to it as dist/cjs, so the test never
  // runs a stale build and works before `pnpm build`.
  let root: string;
  let bin: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pacspace-sandbox-cli-'));
    const out = join(root, 'dist', 'cjs');
    mkdirSync(out, { recursive: true });
    mkdirSync(join(root, 'bin'));
    for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'test-helpers.ts')) {
      const { outputText } = ts.transpileModule(readFileSync(join(srcDir, file), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(join(out, file.replace(/\.ts$/, '.js')), outputText);
    }
    writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
    bin = join(root, 'bin', 'pacspace-sandbox.cjs');
    copyFileSync(join(srcDir, '..', 'bin', 'pacspace-sandbox.cjs'), bin);
    cpSync(join(srcDir, '..', 'page'), join(root, 'page'), { recursive: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('starts, prints its URL and key, answers with the configured faults, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, '--port', '0', '--api-key', 'pk_test_cli.key', '--rate-limit-rate', '1', '--retry-after', '4']);
    try {
      const banner = await waitForOutput(child, /API key: .*\n/);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1];
      expect(url).toBeDefined();
      expect(banner).toContain('API key: pk_test_cli.key');

      const read = await fetch(`${url}/api/v1/balance/derive/cust_1`, { headers: { 'x-api-key': 'pk_test_cli.key' } });
      expect(read.status).toBe(200);
      const write = await fetch(`${url}/api/v1/balance/delta`, {
        method: 'POST',
        headers: { 'x-api-key': 'pk_test_cli.key', 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 'cust_1', delta: 1, reason: 'r' }),
      });
      expect(write.status).toBe(429);
      expect(write.headers.get('retry-after')).toBe('4');
      expect(banner).toContain(`Page: ${url}/`);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toContain('<script src="/page/page.js"');
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });

  it('exits 2 with a message naming a bad flag, and 0 for --help', () => {
    const bad = spawnSync(process.execPath, [bin, '--commit-drop-rate', 'lots'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--commit-drop-rate must be a number');
    const unknown = spawnSync(process.execPath, [bin, '--prot', '1'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("'--prot'");
    const live = spawnSync(process.execPath, [bin, '--api-key', 'pk_live_abc.topsecret'], { encoding: 'utf8' });
    expect(live.status).toBe(2);
    expect(live.stderr).toContain('--api-key must be a test key');
    expect(live.stderr).not.toContain('topsecret');
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: pacspace-sandbox');
  });
});

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child.stdout?.off('data', onData);
        resolve(seen);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing; output: ${seen}`)));
  });
}
