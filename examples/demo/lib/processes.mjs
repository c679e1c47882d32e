// Builds the example apps when their dist is missing or older than their sources, and runs them as
// real processes: their JSON-line stdout is parsed, so the caller can wait for `listening` and read
// the `shutdown` report. Used by the demo and by the fault-injection suite.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLES = Object.freeze({
  'express-app': join(ROOT, 'examples/express-app'),
  'nestjs-app': join(ROOT, 'examples/nestjs-app'),
  'llm-api': join(ROOT, 'examples/llm-api'),
});

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when `dist/main.js` is missing or older than a file of `src/` or `tsconfig.json`. */
export function needsBuild(name) {
  const dir = EXAMPLES[name];
  const main = join(dir, 'dist/main.js');
  if (!existsSync(main)) return true;
  return Math.max(newestMtime(join(dir, 'src')), statSync(join(dir, 'tsconfig.json')).mtimeMs) > statSync(main).mtimeMs;
}

/** Compiles one example with the workspace's TypeScript (what its `build` script runs). */
export function build(name) {
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: EXAMPLES[name], stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`building examples/${name} failed:\n${output}`))));
  });
}

/** Builds every example that needs it, in parallel. Resolves with the names built. */
export async function buildExamples(names = Object.keys(EXAMPLES)) {
  const stale = names.filter(needsBuild);
  await Promise.all(stale.map(build));
  return stale;
}

/**
 * Starts `node dist/main.js` of an example with `env` added to this process's environment.
 * Resolves once it printed `{"event":"listening"}`, with its url and handles to signal it, wait for
 * its exit and read what it printed.
 */
export function startExample(name, env = {}, { startTimeoutMs = 30_000 } = {}) {
  const child = spawn(process.execPath, [join(EXAMPLES[name], 'dist/main.js')], {
    cwd: EXAMPLES[name],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  let stderr = '';
  let buffered = '';
  const waiters = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      events.push(event);
      for (const waiter of [...waiters]) waiter();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })));
  let hasExited = false;
  exited.then(() => {
    hasExited = true;
    for (const waiter of [...waiters]) waiter();
  });

  /** Resolves with the first event named `name`; rejects if the process exits first. */
  const waitForEvent = (eventName, timeoutMs) =>
    new Promise((resolveEvent, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(new Error(`examples/${name}: no "${eventName}" line within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
      const check = () => {
        const found = events.find((e) => e.event === eventName);
        if (found) finish(undefined, found);
        else if (hasExited) finish(new Error(`examples/${name} exited before printing "${eventName}"\n${stderr}`));
      };
      const finish = (err, value) => {
        clearTimeout(timer);
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
        if (err) reject(err);
        else resolveEvent(value);
      };
      waiters.push(check);
      check();
    });

  const listening = waitForEvent('listening', startTimeoutMs).catch((err) => {
    child.kill('SIGKILL'); // never leave a half-started app behind
    throw err;
  });
  return listening.then((listening) => ({
    name,
    child,
    url: listening.url,
    scope: listening.scope,
    events,
    stderr: () => stderr,
    exited,
    waitForEvent,
    /** Sends SIGTERM and resolves with the `shutdown` event and the exit status. */
    async terminate() {
      child.kill('SIGTERM');
      const [shutdown, exit] = await Promise.all([waitForEvent('shutdown'), exited]);
      return { shutdown, exit };
    },
    kill: () => child.kill('SIGKILL'),
  }));
}
