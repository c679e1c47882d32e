import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { BatchDelta } from '../client/client.js';
import { MeteringConfigError, MeteringError } from '../errors.js';

/**
 * An item of a frozen window, exactly as it is sent.
 *
 * @example
 * const item: FrozenItem = { customerId: 'acme', delta: -3, reason: 'storage', referenceId: 'billing:storage:acme:periodic.20250301T130000Z.3600s' };
 */
export type FrozenItem = BatchDelta & { referenceId: string };

/**
 * The window being delivered: its items frozen at collection, and the current key round.
 *
 * @example
 * const pending: PendingWindowState | null = (await store.load())?.pending ?? null;
 */
export interface PendingWindowState {
  start: string;
  end: string;
  /** Key round (see `batchKey`); bumped only when items failed inside a 2xx answer. */
  round: number;
  /** Snapshots with delta 0 that were left out. */
  skipped: number;
  items: FrozenItem[];
  /** True after `retryFailed({ recollect: true })`: collect the window again, then send it with this round's keys. */
  recollect?: boolean;
}

/**
 * An item PacSpace refused, with its error code.
 *
 * @example
 * createPeriodicMeter({ ..., onWindowFailed: (f) => f.items.forEach((i: FailedItem) => log.error(`${i.referenceId}: ${i.code}`)) });
 */
export interface FailedItem {
  referenceId: string;
  customerId: string;
  delta: number;
  reason: string;
  code: string;
  message: string;
}

/**
 * A window that failed for good: the meter stays on it until `retryFailed()` or `skipFailed()`.
 *
 * @example
 * const failed: FailedWindowState | null = (await store.load())?.failed ?? null;
 */
export interface FailedWindowState {
  start: string;
  end: string;
  code: string;
  message: string;
  /** Items refused one by one inside a batch answer (empty when the whole request was refused). */
  items: FailedItem[];
  at: string;
}

/**
 * What a periodic meter persists between runs. Times are ISO 8601 strings, so the file is
 * readable. Version 1.
 *
 * @example
 * const state: PeriodicState | undefined = await createJsonFileStateStore('./periodic.json').load();
 * state?.nextStart; // e.g. '2025-03-01T14:00:00.000Z'
 */
export interface PeriodicState {
  version: 1;
  /** The periodic meter's `name`; a store holds one meter's state. */
  name: string;
  /** Start of the next window to process: the end of the last completed (or skipped) window. */
  nextStart: string;
  /** The window under delivery, or null. */
  pending: PendingWindowState | null;
  /** The window that failed for good, or null. */
  failed: FailedWindowState | null;
  /** The last window delivered. */
  lastCompleted: { start: string; end: string; items: number; completedAt: string } | null;
  /** Periods whose last window is delivered and whose checkpoint is still to be made, oldest first. */
  closing: string[];
  /** Periods checkpointed, oldest first (the last 24 are kept). */
  checkpointed: Array<{ period: string; checkpointIds: string[]; at: string }>;
  /** Windows moved past by an explicit `skipFailed()`, oldest first (the last 100 are kept). */
  skipped: Array<{ start: string; end: string; code: string; at: string }>;
}

/**
 * Where a periodic meter keeps its {@link PeriodicState}. `save` must be durable when it resolves
 * (the meter saves before sending a window and after delivering it), and atomic: a crash during
 * `save` leaves the previous state or the new one, never a mix. Methods may be sync or async.
 *
 * @example
 * const store: PeriodicStateStore = {
 *   load: async () => JSON.parse((await redis.get('periodic:billing')) ?? 'null') ?? undefined,
 *   save: async (state) => { await redis.set('periodic:billing', JSON.stringify(state)); },
 * };
 *
 * @example
 * const state: PeriodicState | undefined = await createJsonFileStateStore('./periodic.json').load();
 * state?.nextStart; // e.g. '2025-03-01T14:00:00.000Z'
 */
export interface PeriodicStateStore {
  /** The saved state, or undefined when nothing was saved yet. */
  load(): PeriodicState | undefined | Promise<PeriodicState | undefined>;
  /** Replaces the saved state. */
  save(state: PeriodicState): void | Promise<void>;
}

/**
 * The default {@link PeriodicStateStore}: one JSON file. `save` writes a temporary file next to it,
 * fsyncs it and renames it over the old one (atomic on POSIX filesystems), creating the directory
 * when needed; saves are serialized. A file that is not valid state makes `load` throw
 * `STATE_INVALID` rather than start over, since starting over could skip or repeat windows.
 *
 * @example
 * createPeriodicMeter({ ..., stateStore: createJsonFileStateStore('/var/lib/billing/periodic.json') });
 */
export function createJsonFileStateStore(path: string): PeriodicStateStore & { readonly path: string } {
  if (typeof path !== 'string' || path.length === 0) throw new MeteringConfigError('statePath', `must be a file path (got ${JSON.stringify(path)})`);
  const file = resolve(path);
  let saving: Promise<void> = Promise.resolve();

  async function write(state: PeriodicState): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new MeteringError('STATE_WRITE_FAILED', `could not save the periodic state to ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    path: file,
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new MeteringError('STATE_READ_FAILED', `could not read the periodic state from ${file}: ${(err as Error).message}`, { cause: err });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (cause) {
        throw new MeteringError('STATE_INVALID', `${file} is not JSON; fix or remove it (removing it restarts at the current window)`, { cause });
      }
      return validateState(raw, file);
    },
    save(state) {
      const next = saving.then(() => write(state));
      saving = next.catch(() => undefined);
      return next;
    },
  };
}

/**
 * A {@link PeriodicStateStore} in memory, for tests and for jobs that keep state elsewhere.
 * `current()` returns a copy of what was saved last.
 *
 * @example
 * const store = createMemoryStateStore();
 * createPeriodicMeter({ ..., stateStore: store });
 * store.current()?.nextStart;
 */
export function createMemoryStateStore(initial?: PeriodicState): PeriodicStateStore & { current(): PeriodicState | undefined } {
  let saved = initial === undefined ? undefined : JSON.stringify(validateState(initial, 'initial state'));
  const copy = () => (saved === undefined ? undefined : (JSON.parse(saved) as PeriodicState));
  return {
    load: copy,
    save(state) {
      saved = JSON.stringify(state);
    },
    current: copy,
  };
}

/**
 * Checks that `raw` is a version-1 {@link PeriodicState}; throws `STATE_INVALID` naming the field.
 *
 * @example
 * validateState(JSON.parse(text), '/var/lib/billing/periodic.json');
 */
export function validateState(raw: unknown, where: string): PeriodicState {
  const fail = (field: string, what: string): never => {
    throw new MeteringError('STATE_INVALID', `${where}: ${field} must be ${what}`);
  };
  if (!isObject(raw)) return fail('the state', 'a JSON object');
  if (raw.version !== 1) fail('version', '1');
  if (typeof raw.name !== 'string') fail('name', 'a string');
  isoField(raw.nextStart, 'nextStart', fail);
  if (raw.pending !== null) {
    if (!isObject(raw.pending)) fail('pending', 'an object or null');
    const pending = raw.pending as Record<string, unknown>;
    isoField(pending.start, 'pending.start', fail);
    isoField(pending.end, 'pending.end', fail);
    if (!Number.isInteger(pending.round) || (pending.round as number) < 0) fail('pending.round', 'a non-negative integer');
    if (!Number.isInteger(pending.skipped) || (pending.skipped as number) < 0) fail('pending.skipped', 'a non-negative integer');
    if (!Array.isArray(pending.items)) fail('pending.items', 'an array');
    (pending.items as unknown[]).forEach((item, i) => {
      if (!isObject(item) || typeof item.customerId !== 'string' || typeof item.delta !== 'number' || typeof item.reason !== 'string' || typeof item.referenceId !== 'string') {
        fail(`pending.items[${i}]`, 'a delta with customerId, delta, reason and referenceId');
      }
    });
  }
  if (raw.failed !== null) {
    if (!isObject(raw.failed)) fail('failed', 'an object or null');
    const failed = raw.failed as Record<string, unknown>;
    isoField(failed.start, 'failed.start', fail);
    isoField(failed.end, 'failed.end', fail);
    if (typeof failed.code !== 'string' || typeof failed.message !== 'string' || !Array.isArray(failed.items)) fail('failed', 'an object with code, message and items');
  }
  if (raw.lastCompleted !== null && !isObject(raw.lastCompleted)) fail('lastCompleted', 'an object or null');
  if (!Array.isArray(raw.closing) || !raw.closing.every((p) => typeof p === 'string')) fail('closing', 'an array of YYYY-MM strings');
  if (!Array.isArray(raw.checkpointed)) fail('checkpointed', 'an array');
  if (!Array.isArray(raw.skipped)) fail('skipped', 'an array');
  return raw as unknown as PeriodicState;
}

function isoField(value: unknown, field: string, fail: (field: string, what: string) => never): void {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) fail(field, 'an ISO 8601 date-time');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
