// Test helpers for @pacspace-metering/sqlite-store: temporary store paths, deltas shaped like the
// ones the Meter queues, and child processes holding a store. Not part of the package.
import type { QueuedDelta } from '@pacspace-metering/core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { queuedDelta } from '../../../test/support/queued-delta.js';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A fresh directory for store files; `cleanup()` removes it. */
export function tempDir(): { dir: string; file(name?: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-test-'));
  return { dir, file: (name = 'metering.db') => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let seq = 0;
/** A delta as the Meter queues it: frozen body, referenceId, acceptance time. */
export function delta(customerId: string, overrides: Partial<QueuedDelta> = {}): QueuedDelta {
  const n = ++seq;
  return queuedDelta(customerId, { seq: n, referenceId: `test:api_request:${customerId}:req-${n}`, metadata: { n, route: '/v1/reports/:id' }, acceptedAt: 1_000 + n }, overrides);
}

export const noPause = () => 0;

/**
 * Starts `test-support/hold-store.mjs` (the built package) on `path`: it opens the store, adds
 * `add` deltas, leases `lease` of them as if sending, prints one JSON line and waits to be killed
 * (or, with `exitAfterMs`, exits that long after, without closing the store).
 */
export async function holdStore(path: string, add: number, lease: number, exitAfterMs = 0) {
  const child = spawn(process.execPath, [join(PACKAGE_DIR, 'test-support', 'hold-store.mjs'), path, String(add), String(lease), String(exitAfterMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    exited.then(() => reject(new Error(`hold-store exited before it was ready: ${stderr}`)));
  });
  const ready = JSON.parse(line) as { pid: number; added: Array<{ referenceId: string; body: string }>; leased: string[] };
  return { child, exited, ...ready };
}
