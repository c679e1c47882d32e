import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, SandboxConfigError, type DeltaStatus, type Sandbox } from './index.js';
import { BATCH, CHECKPOINT, DELTA, call, delta, post } from './test-helpers.js';
import { resolvePace, statusAt } from './verification.js';

const read = async (sb: Sandbox, recordId: string) => (await call(sb, 'GET', `/api/v1/balance/delta/${recordId}`)).json.data;

describe('the delta lifecycle', () => {
  it('moves QUEUED -> PROCESSING -> VERIFIED at the configured pace', () => {
    const pace = { queuedMs: 1000, processingMs: 2000 };
    expect(statusAt(10_000, null, pace, 10_000)).toEqual({ status: 'QUEUED', settledMs: null });
    expect(statusAt(10_000, null, pace, 10_999)).toEqual({ status: 'QUEUED', settledMs: null });
    expect(statusAt(10_000, null, pace, 11_000)).toEqual({ status: 'PROCESSING', settledMs: null });
    expect(statusAt(10_000, null, pace, 12_999)).toEqual({ status: 'PROCESSING', settledMs: null });
    expect(statusAt(10_000, null, pace, 13_000)).toEqual({ status: 'VERIFIED', settledMs: 13_000 });
    expect(statusAt(10_000, 'VERIFICATION_FAILED', pace, 13_000)).toEqual({ status: 'FAILED', settledMs: 13_000 });
    expect(statusAt(10_000, null, { queuedMs: 0, processingMs: 0 }, 10_000)).toEqual({ status: 'VERIFIED', settledMs: 10_000 });
  });

  it('is instant by default: a delta reads VERIFIED right after its QUEUED emit answer', async () => {
    const sb = await startSandbox();
    try {
      const created = (await post(sb, DELTA, delta())).json.data;
      expect(created.status).toBe('QUEUED');
      expect(await read(sb, created.recordId)).toMatchObject({ status: 'VERIFIED', verifiedAt: expect.any(String) });
      expect(sb.ledger().deltas[0]).toMatchObject({ status: 'VERIFIED', error: null, settledAt: expect.any(String) });
    } finally {
      await sb.close();
    }
  });

  it('is seen by a poller in order, ending VERIFIED, over real HTTP', async () => {
    const sb = await startSandbox({ verification: { queuedMs: 150, processingMs: 150 } });
    try {
      const { recordId } = (await post(sb, DELTA, delta())).json.data;
      const seen: DeltaStatus[] = [];
      let last: { status: DeltaStatus; verifiedAt: string | null } = await read(sb, recordId);
      while (last.status !== 'VERIFIED' && last.status !== 'FAILED') {
        if (seen.at(-1) !== last.status) seen.push(last.status);
        expect(last.verifiedAt).toBeNull();
        await sleep(20);
        last = await read(sb, recordId);
      }
      seen.push(last.status);
      const order: DeltaStatus[] = ['QUEUED', 'PROCESSING', 'VERIFIED'];
      expect(seen.map((s) => order.indexOf(s))).toEqual([...seen.map((s) => order.indexOf(s))].sort());
      expect(seen.at(-1)).toBe('VERIFIED');
      expect(last.verifiedAt).toEqual(expect.any(String));
    } finally {
      await sb.close();
    }
  });

  it('counts only VERIFIED deltas in derive and checkpoints, as PacSpace bills', async () => {
    const sb = await startSandbox({ verification: { queuedMs: 3_600_000, processingMs: 0 } });
    try {
      await post(sb, DELTA, delta({ delta: 5 }));
      const derived = (await call(sb, 'GET', '/api/v1/balance/derive/cust_1')).json.data;
      expect(derived).toMatchObject({ computedBalance: 0, deltasCount: 0, deltas: [] });
      expect((await post(sb, CHECKPOINT, { customerId: 'cust_1' })).json.data).toMatchObject({ deltasCount: 0, netChange: 0 });
      expect(sb.ledger().deltas[0]).toMatchObject({ status: 'QUEUED', settledAt: null });
    } finally {
      await sb.close();
    }
  });

  it('rejects a bad pace naming the field', async () => {
    for (const [value, field] of [[{ queuedMs: -1 }, 'verification.queuedMs'], [{ processingMs: 1.5 }, 'verification.processingMs'], [{ slow: 1 }, 'verification.slow'], ['fast', 'verification']] as const) {
      const error = await startSandbox({ verification: value as never }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SandboxConfigError);
      expect((error as SandboxConfigError).field).toBe(field);
    }
    expect(resolvePace(undefined)).toEqual({ queuedMs: 0, processingMs: 0 });
  });
});

describe('the verificationFailure fault', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    sb.setFaults({});
    sb.reset();
  });

  it('commits the delta, answers QUEUED, and ends it FAILED with the code, outside every balance', async () => {
    sb.setFaults({ verificationFailure: { customerIds: ['cust_doomed'], code: 'CHAIN_REJECTED' } });
    const doomed = (await post(sb, DELTA, delta({ customerId: 'cust_doomed', delta: 7 }))).json.data;
    expect(doomed.status).toBe('QUEUED');
    await post(sb, DELTA, delta({ customerId: 'cust_doomed', delta: 1 }));
    sb.setFaults({});
    await post(sb, DELTA, delta({ customerId: 'cust_doomed', delta: 2 }));

    expect(await read(sb, doomed.recordId)).toMatchObject({ status: 'FAILED', error: 'CHAIN_REJECTED', failedAt: expect.any(String), verifiedAt: null });
    expect(sb.ledger().deltas.map((d) => [d.status, d.error])).toEqual([
      ['FAILED', 'CHAIN_REJECTED'],
      ['FAILED', 'CHAIN_REJECTED'],
      ['VERIFIED', null],
    ]);
    const derived = (await call(sb, 'GET', '/api/v1/balance/derive/cust_doomed')).json.data;
    expect(derived).toMatchObject({ computedBalance: 2, deltasCount: 1 });
  });

  it('draws once per delta under the seed, also per batch item', async () => {
    sb.setFaults({ verificationFailure: { rate: 0.5 } });
    await post(sb, BATCH, { deltas: Array.from({ length: 40 }, (_, i) => delta({ referenceId: `v${i}` })) });
    const first = sb.ledger().deltas.map((d) => d.status);
    expect(first).toContain('FAILED');
    expect(first).toContain('VERIFIED');
    expect(sb.ledger().deltas.find((d) => d.status === 'FAILED')!.error).toBe('VERIFICATION_FAILED');
    sb.reset();
    await post(sb, BATCH, { deltas: Array.from({ length: 40 }, (_, i) => delta({ referenceId: `v${i}` })) });
    expect(sb.ledger().deltas.map((d) => d.status)).toEqual(first);
  });

  it('is validated like the other faults', () => {
    expect(() => sb.setFaults({ verificationFailure: {} })).toThrow('faults.verificationFailure must be given rate or customerIds');
    expect(() => sb.setFaults({ verificationFailure: { rate: 1, code: 'has space' } })).toThrow('faults.verificationFailure.code');
  });
});
