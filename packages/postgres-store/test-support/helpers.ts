// Test helpers for @pacspace-metering/postgres-store: deltas shaped like the ones the Meter
// queues, and a child process that holds a store. Not part of the package.
import type { QueuedDelta } from '@pacspace-metering/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { queuedDelta } from '../../../test/support/queued-delta.js';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

let seq = 0;
/** A delta as the Meter queues it: frozen body, referenceId, acceptance time. */
export function delta(customerId: string, overrides: Partial<QueuedDelta> = {}): QueuedDelta {
  const n = ++seq;
  return queuedDelta(customerId, { seq: n, referenceId: `test:api_request:${customerId}:req-${process.pid}-${n}`, metadata: { n }, acceptedAt: Date.now() }, overrides);
}

export const noPause = () => 0;

/** A child process started by a test, with its JSON output lines. */
export interface Child {
  child: ChildProcess;
  /** The next JSON line it prints. */
  nextLine(): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node script ...args` with `env` added, reading its stdout as JSON lines. */
export function startChild(script: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => (waiting.shift() ?? ((l: string) => lines.push(l)))(line));
  const nextLine = () =>
    new Promise<any>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      waiting.push((l) => resolve(JSON.parse(l)));
      exited.then(({ code, signal }) => reject(new Error(`${script} exited (code ${code}, signal ${signal}) before printing a line: ${stderr}`)));
    });
  return { child, nextLine, exited };
}

/** Waits until `check()` is truthy, polling; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
