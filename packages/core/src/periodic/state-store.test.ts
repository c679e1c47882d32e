import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeteringConfigError, MeteringError } from '../errors.js';
import { createJsonFileStateStore, createMemoryStateStore, validateState, type PeriodicState } from './state-store.js';

function state(overrides: Partial<PeriodicState> = {}): PeriodicState {
  return {
    version: 1,
    name: 'periodic',
    nextStart: '2025-03-01T13:00:00.000Z',
    pending: {
      start: '2025-03-01T13:00:00.000Z',
      end: '2025-03-01T14:00:00.000Z',
      round: 0,
      skipped: 1,
      items: [{ customerId: 'acme', delta: -1, reason: 'x', referenceId: 's:x:acme:periodic.20250301T130000Z.3600s', metadata: { windowStart: '2025-03-01T13:00:00.000Z' } }],
    },
    failed: null,
    lastCompleted: null,
    closing: [],
    checkpointed: [],
    skipped: [],
    ...overrides,
  };
}

describe('JSON file state store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'periodic-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads nothing before the first save, then what was saved, creating directories', async () => {
    const store = createJsonFileStateStore(join(dir, 'nested', 'deeper', 'state.json'));
    expect(await store.load()).toBeUndefined();
    await store.save(state());
    expect(await store.load()).toEqual(state());
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toEqual(state());
  });

  it('replaces the file atomically and leaves no temporary files', async () => {
    const store = createJsonFileStateStore(join(dir, 'state.json'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(state({ nextStart: new Date(Date.UTC(2025, 2, 1, i)).toISOString() }))));
    expect(await readdir(dir)).toEqual(['state.json']);
    expect((await store.load())?.nextStart).toBe('2025-03-01T19:00:00.000Z');
  });

  it('refuses a corrupt or foreign file instead of starting over', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, '{ not json');
    await expect(createJsonFileStateStore(path).load()).rejects.toMatchObject({ code: 'STATE_INVALID' });
    await writeFile(path, JSON.stringify({ version: 2 }));
    await expect(createJsonFileStateStore(path).load()).rejects.toMatchObject({ code: 'STATE_INVALID' });
  });

  it('names statePath for a bad path', () => {
    expect(() => createJsonFileStateStore('')).toThrow(MeteringConfigError);
  });
});

describe('validateState', () => {
  it.each([
    [{ ...state(), nextStart: 'yesterday' }, 'nextStart'],
    [{ ...state(), pending: { ...state().pending, round: -1 } }, 'pending.round'],
    [{ ...state(), pending: { ...state().pending, items: [{ customerId: 'a' }] } }, 'pending.items[0]'],
    [{ ...state(), closing: [1] }, 'closing'],
    [{ ...state(), failed: { start: '2025-03-01T13:00:00.000Z', end: '2025-03-01T14:00:00.000Z' } }, 'failed'],
  ])('names the bad field (%#)', (raw, field) => {
    let error: unknown;
    try {
      validateState(raw, 'state.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MeteringError);
    expect((error as Error).message).toContain(field);
  });
});

describe('memory state store', () => {
  it('keeps copies, so callers cannot change what was saved', () => {
    const store = createMemoryStateStore();
    expect(store.load()).toBeUndefined();
    const saved = state();
    store.save(saved);
    saved.nextStart = '2030-01-01T00:00:00.000Z';
    expect(store.current()?.nextStart).toBe('2025-03-01T13:00:00.000Z');
    const loaded = store.load() as PeriodicState;
    loaded.closing.push('2025-02');
    expect(store.current()?.closing).toEqual([]);
  });
});
