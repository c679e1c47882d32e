// Issue #13, item 12: a full disk, for real. The store lives on a small tmpfs; a filler file takes
// the rest of it. Deltas accepted before are kept; deltas offered while the disk is full are
// refused as `store_failed` (counted, reported), never accepted in memory only; after a kill -9, a
// restart on the still-full disk comes up and delivers exactly what was committed.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_DIR } from '../test-support/helpers.js';

const SCRIPT = join(PACKAGE_DIR, 'test-support', 'meter-on-store.mjs');

/** A tmpfs of `size` mounted on a fresh directory, or why it could not be (mounting needs root). */
function mountTmpfs(size: string): { dir: string; unmount(): void } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status === 0) {
    return {
      dir,
      unmount: () => {
        spawnSync('umount', [dir]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  return { why: (mounted.stderr || mounted.error?.message || 'mount failed').trim() };
}

/** Writes zeros into `path` until the file system says ENOSPC. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Starts meter-on-store.mjs on `path`; `send` writes a command and resolves with its JSON answer. */
async function startMeter(path: string, sandbox: Sandbox) {
  const child = spawn(process.execPath, [SCRIPT, path], { env: { ...process.env, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`the meter process ended: ${stderr}`);
    return JSON.parse(line.value) as Record<string, any>;
  };
  const send = (command: string) => {
    child.stdin.write(`${command}\n`);
    return next();
  };
  return { child, exited, ready: await next(), send };
}

const tmpfs = mountTmpfs('8m');
const itOnTmpfs = 'dir' in tmpfs ? it : it.skip;

describe(`a store on a full disk (a tmpfs: ${'dir' in tmpfs ? 'mounted' : `not available here, ${tmpfs.why}`})`, () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
    if ('dir' in tmpfs) tmpfs.unmount();
  });

  itOnTmpfs('refuses new deltas as store_failed, and a restart after kill -9 comes up and delivers exactly what was committed', async () => {
    const dir = (tmpfs as { dir: string }).dir;
    const path = join(dir, 'metering.db');
    // PacSpace is away, so what is accepted stays in the file.
    await sandbox.stop();
    const first = await startMeter(path, sandbox);
    try {
      expect(first.ready).toEqual({ ready: true, resumed: 0 });
      const before = await first.send('enqueue 200 before');
      expect(before.accepted).toHaveLength(200);
      expect(before.refused).toEqual({});

      fillDisk(join(dir, 'filler'));
      const during = await first.send('enqueue 200 during');
      expect(during.accepted).toEqual([]);
      expect(during.refused).toEqual({ store_failed: 200 });
      expect(during.stats.dropped).toEqual({ store_failed: 200 });
      expect(during.stats.accepted).toBe(200);
    } finally {
      first.child.kill('SIGKILL');
    }
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The disk is still full: the lock, the WAL recovery and the owner record must not need a write.
    await sandbox.start();
    const second = await startMeter(path, sandbox);
    try {
      expect(second.ready).toEqual({ ready: true, resumed: 200 });
      const { flush, stats } = await second.send('flush');
      expect(flush).toMatchObject({ pending: 0, timedOut: false });
      expect(stats).toMatchObject({ delivered: 200, dropped: {}, failed: {} });
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
    const committed = sandbox.ledger().deltas.map((d) => d.referenceId);
    expect(committed.sort()).toEqual(Array.from({ length: 200 }, (_, i) => `full-disk:api_request:acme:before-${i}`).sort());
  });
});
