// Child processes for the consumer test: logged to a file, read line by line, awaited with timeouts.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Runs a command to completion, its output appended to `logPath`; rejects with the tail of the
 * output when it exits non-zero or outlives `timeoutMs`.
 *
 * @example
 * await run('npm', ['install'], { cwd, logPath, timeoutMs: 600_000 });
 */
export function run(command, args, { cwd, env = process.env, logPath, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const log = createWriteStream(logPath, { flags: 'a' });
      log.end(`$ ${command} ${args.join(' ')}\n${stdout}${stderr}\n`);
      if (err) {
        const tail = `${stdout}${stderr}`.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${command} ${args.slice(0, 3).join(' ')} failed (${err.killed ? `killed after ${timeoutMs} ms` : `exit ${err.code}`}):\n${tail}`));
      } else resolve({ stdout, ms: Date.now() - started });
    });
  });
}

/**
 * A long-running child (an app, the sandbox): its output goes to `logPath`, `waitFor(regex)`
 * resolves with the first matching line, `exited` with how it ended.
 *
 * @example
 * const app = start(node, ['dist/main.js'], { cwd, env, logPath });
 * const [, url] = await app.waitFor(/listening on (\S+)/, 60_000);
 */
export function start(command, args, { cwd, env = process.env, logPath }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`$ ${command} ${args.join(' ')}\n`);
  const lines = [];
  const waiters = new Set();
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      log.write(`${line}\n`);
      lines.push(line);
      for (const waiter of waiters) waiter(line);
    });
  }
  void exited.then(() => log.end());
  return {
    child,
    exited,
    output: () => lines.join('\n'),
    /** The first line (seen so far or later) matching `pattern`, as a match; rejects on timeout or exit. */
    waitFor(pattern, timeoutMs) {
      const seen = lines.map((line) => line.match(pattern)).find(Boolean);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = (fn, value) => {
          clearTimeout(timer);
          waiters.delete(onLine);
          fn(value);
        };
        const onLine = (line) => {
          const match = line.match(pattern);
          if (match) done(resolve, match);
        };
        const timer = setTimeout(() => done(reject, new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.slice(-15).join('\n')}`)), timeoutMs);
        waiters.add(onLine);
        void exited.then(({ code, signal }) => done(reject, new Error(`exited (code ${code}, signal ${signal}) before printing ${pattern}; output:\n${lines.slice(-15).join('\n')}`)));
      });
    },
    /** Sends SIGKILL if it still runs (clean-up after a failure). */
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Resolves within `timeoutMs` with `promise`'s value, or rejects naming `what`.
 *
 * @example
 * const exit = await within(app.exited, 30_000, 'the app to exit after SIGTERM');
 */
export function within(promise, timeoutMs, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs))),
  ]);
}
