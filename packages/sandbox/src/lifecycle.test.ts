import { duplicateReferenceIds, startSandbox, sumByCustomer, SandboxConfigError, type LedgerSnapshot, type SandboxOptions } from './index.js';
import { DELTA, call, delta, post } from './test-helpers.js';

describe('stop() and start()', () => {
  it('refuses connections while stopped, then serves the same state on the same port', async () => {
    const sb = await startSandbox();
    try {
      expect(sb.url).toBe(`http://127.0.0.1:${sb.port}`);
      const created = (await post(sb, DELTA, delta({ referenceId: 'kept' }), { idempotencyKey: 'k1' })).json.data;

      await sb.stop();
      const error = await post(sb, DELTA, delta()).catch((e: unknown) => e);
      expect((error as Error).message).toBe('fetch failed');
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      await sb.stop(); // idempotent

      await sb.start();
      const read = await call(sb, 'GET', `/api/v1/balance/delta/${created.recordId}`);
      expect(read.json.data).toMatchObject({ recordId: created.recordId, referenceId: 'kept' });
      const replay = await post(sb, DELTA, delta({ referenceId: 'kept' }), { idempotencyKey: 'k1' });
      expect(replay.json.data).toMatchObject({ recordId: created.recordId, idempotent: true });
      expect(sb.ledger().deltas).toHaveLength(1);
    } finally {
      await sb.close();
    }
  });

  it('destroys open keep-alive connections on stop(), and close() is final', async () => {
    const sb = await startSandbox();
    await post(sb, DELTA, delta()); // leaves a pooled keep-alive connection
    await sb.close();
    await expect(post(sb, DELTA, delta())).rejects.toThrow();
    await expect(sb.start()).rejects.toThrow(/closed/);
  });
});

describe('reset() and the ledger', () => {
  it('reset() clears deltas, checkpoints, the request log and counters, and restarts record ids', async () => {
    const sb = await startSandbox();
    try {
      await post(sb, DELTA, delta());
      await post(sb, '/api/v1/balance/checkpoint', {});
      sb.reset();
      expect(sb.ledger()).toEqual({
        deltas: [],
        requests: [],
        checkpoints: [],
        counts: { requests: 0, committed: 0, replayed: 0, pending: 0, conflicts: 0, faults: 0, itemFaults: 0, requestLogDropped: 0 },
      });
      expect((await post(sb, DELTA, delta())).json.data.recordId).toBe('rec_1');
      // Over HTTP too.
      expect((await call(sb, 'POST', '/_sandbox/reset')).status).toBe(200);
      expect(sb.ledger().deltas).toEqual([]);
    } finally {
      await sb.close();
    }
  });

  it('ledger() is a deep copy, and GET /_sandbox/ledger serves the same snapshot', async () => {
    const sb = await startSandbox();
    try {
      await post(sb, DELTA, delta({ metadata: { nested: { n: 1 } } }));
      const snap = sb.ledger();
      (snap.deltas[0]!.metadata as { nested: { n: number } }).nested.n = 99;
      snap.deltas.push({ ...snap.deltas[0]! });
      snap.counts.committed = 42;
      const fresh = sb.ledger();
      expect(fresh.deltas).toHaveLength(1);
      expect(fresh.deltas[0]!.metadata).toEqual({ nested: { n: 1 } });
      expect(fresh.counts.committed).toBe(1);

      const over = await call(sb, 'GET', '/_sandbox/ledger');
      expect(over.json.data).toEqual(sb.ledger());
    } finally {
      await sb.close();
    }
  });

  it('keeps the request log bounded by maxRequestLog, counting what it drops', async () => {
    const sb = await startSandbox({ maxRequestLog: 3 });
    try {
      for (let i = 0; i < 5; i++) await post(sb, DELTA, delta({ delta: i + 1 }));
      const { requests, counts, deltas } = sb.ledger();
      expect(requests.map((r) => r.seq)).toEqual([3, 4, 5]);
      expect(counts).toMatchObject({ requests: 5, requestLogDropped: 2, committed: 5 });
      expect(deltas).toHaveLength(5);
    } finally {
      await sb.close();
    }
  });
});

describe('ledger helpers', () => {
  const snapshot = (rows: [string, number, string | null][]): Pick<LedgerSnapshot, 'deltas'> => ({
    deltas: rows.map(([customerId, d, referenceId], i) => ({
      recordId: `rec_${i + 1}`,
      receiptId: '0x00',
      customerId,
      delta: d,
      reason: 'r',
      referenceId,
      metadata: null,
      idempotencyKey: null,
      committedAt: new Date(0).toISOString(),
    })),
  });

  it('duplicateReferenceIds lists referenceIds committed more than once', () => {
    const s = snapshot([['a', 1, 'x'], ['a', 1, 'y'], ['b', 1, 'x'], ['b', 2, null], ['b', 2, null], ['c', 1, 'y'], ['c', 1, 'y']]);
    expect(duplicateReferenceIds(s)).toEqual(['x', 'y']);
    expect(duplicateReferenceIds(snapshot([['a', 1, 'x']]))).toEqual([]);
  });

  it('sumByCustomer nets deltas per customer, even for a customer called __proto__', () => {
    const sums = sumByCustomer(snapshot([['a', 2, null], ['b', 5, null], ['a', -0.5, null], ['__proto__', 3, null]]));
    expect(sums).toEqual({ a: 1.5, b: 5, ['__proto__']: 3 });
    expect(Object.keys(sums)).toEqual(['a', 'b', '__proto__']);
  });
});

describe('option validation', () => {
  const bad: [string, SandboxOptions, string][] = [
    ['port -1', { port: -1 }, 'port'],
    ['port 70000', { port: 70000 }, 'port'],
    ['port 1.5', { port: 1.5 }, 'port'],
    ['empty host', { host: '' }, 'host'],
    ['empty apiKey', { apiKey: '' }, 'apiKey'],
    // Shorter than core's client accepts: a key the sandbox takes must work in a Meter.
    ['apiKey "test"', { apiKey: 'test' }, 'apiKey'],
    ['apiKey with a newline', { apiKey: 'pk_test_a.b\n' }, 'apiKey'],
    ['seed 1.5', { seed: 1.5 }, 'seed'],
    ['maxBodyBytes 0', { maxBodyBytes: 0 }, 'maxBodyBytes'],
    ['maxRequestLog -1', { maxRequestLog: -1 }, 'maxRequestLog'],
    ['an unknown option', { prot: 1 } as SandboxOptions, 'options.prot'],
  ];
  it.each(bad)('rejects %s with a TypeError naming the option', async (_name, options, field) => {
    const error = await startSandbox(options).then(
      (sb) => sb.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as SandboxConfigError).field).toBe(field);
    expect((error as Error).message).toMatch(new RegExp(`^${field.replace('.', '\\.')} must be`));
  });

  it('never puts a rejected API key into the message', async () => {
    const error = await startSandbox({ apiKey: 'secret value' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SandboxConfigError);
    expect((error as Error).message).not.toContain('secret');
  });
});
