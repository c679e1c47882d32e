import { spawn, execFileSync } from 'node:child_process';

/** Pins this process to one CPU, so the load generator and the server under test do not share a core. */
export function pinSelf(cpu) {
  try {
    execFileSync('taskset', ['-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts a Node script pinned to `cpu`, with an IPC channel; resolves with the child and its first message. */
export function startChild(script, args, { cpu, env } = {}) {
  const command = cpu === undefined ? process.execPath : 'taskset';
  const commandArgs = cpu === undefined ? [script, ...args] : ['-c', String(cpu), process.execPath, script, ...args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    child.once('message', (first) => resolve({ child, first }));
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)));
  });
}

/** Asks a child for a message and waits for its answer. */
export function ask(child, message) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(message);
  });
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
