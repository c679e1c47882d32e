// Starts the mixed-traffic suite's Hono app (test/fixtures/fetch-runtimes) on another JavaScript
// runtime: Bun and Deno on their own servers, or a Cloudflare Worker in workerd. All three come
// from the npm registry through the lockfile (test/package.json), so a missing runtime fails the
// suite; it never skips.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningMeteredApp, SuiteMeterOptions } from './mixed-traffic.js';
import { waitFor } from './wait.js';
import { layOutWorker } from './workerd-bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, '..', 'fixtures', 'fetch-runtimes');
const requireFromTests = createRequire(join(here, '..', 'package.json'));

/** The runtimes the suite runs on besides Node. */
export type FetchRuntime = 'bun' | 'deno' | 'workerd';

/** How to run the app on each: the command, given the folder it may write to. */
const COMMANDS: Record<FetchRuntime, (options: SuiteMeterOptions, scratch: string) => Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }>> = {
  async bun(options) {
    // bun's postinstall puts the binary itself in place of bin/bun.exe (allowed in pnpm-workspace.yaml).
    const command = join(dirname(requireFromTests.resolve('bun-runtime/package.json')), 'bin', 'bun.exe');
    return { command, args: [join(FIXTURES, 'serve.mjs')], env: { METER_OPTIONS: JSON.stringify(options) } };
  },
  async deno(options) {
    const command = (requireFromTests('deno-runtime/install_api.cjs') as { runInstall(): string }).runInstall();
    return { command, args: ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', join(FIXTURES, 'serve.mjs')], env: { METER_OPTIONS: JSON.stringify(options) } };
  },
  async workerd(options, scratch) {
    const workerd = ((await import('workerd')) as unknown as { default: { default: string } }).default;
    const config = layOutWorker(scratch, join(FIXTURES, 'worker.mjs'), ['hono', '@pacspace-metering/core', '@pacspace-metering/hono'], { METER_OPTIONS: JSON.stringify(options) }, '2025-09-01');
    return { command: workerd.default, args: ['serve', config, '--verbose'], env: {} };
  },
};

/** Starts the app on `runtime` with a Meter made of `options`; resolves once it serves. */
export async function startOnRuntime(runtime: FetchRuntime, options: SuiteMeterOptions): Promise<RunningMeteredApp> {
  const scratch = mkdtempSync(join(tmpdir(), `pacspace-${runtime}-`));
  const { command, args, env } = await COMMANDS[runtime](options, scratch);
  const child = spawn(command, args, { cwd: join(here, '..'), env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(scratch, { recursive: true, force: true });
  };
  let url: string;
  try {
    await waitFor(() => /listening on (http:\/\/\S+)/i.test(output) || child.exitCode !== null, `${runtime} to serve`, 60_000);
    url = /listening on (http:\/\/\S+)/i.exec(output)?.[1] ?? '';
    if (!url) throw new Error(`${runtime} exited before serving:\n${output}`);
  } catch (err) {
    await stop();
    throw err;
  }
  // The last lines are enough to see why; a runtime that logs per request would flood the report.
  return runningApp(url.replace(/\/$/, ''), child, stop, () => output.split('\n').slice(-20).join('\n'));
}

function runningApp(url: string, child: ChildProcess, stop: () => Promise<void>, output: () => string): RunningMeteredApp {
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}\n${output()}`);
    return (await res.json()) as T;
  };
  return {
    url,
    // Successes are billed before the server passes on the end of their body, so a client that read
    // them all has them queued; what is left to see is that every aborted body was cancelled.
    async waitForDone(_total, aborted) {
      let cancelled = 0;
      const deadline = Date.now() + 30_000;
      while ((cancelled = (await getJson<{ cancelled: number }>('/__settled')).cancelled) < aborted) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server saw ${cancelled} of ${aborted} aborted bodies cancelled:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    drain: (timeoutMs) => getJson(`/__drain?timeoutMs=${timeoutMs}`),
    close: stop,
  };
}
