import { PacSpaceApiError } from '../errors.js';
import type { MeterBalanceSource } from './balance-source.js';
import { DeliveredHolds } from './delivered-holds.js';
import { newGateStats } from './gate-stats.js';

/** A source whose status reads answer from `statuses` (the unit's edge; the gate's e2e tests use the sandbox). */
function source(statuses: Record<string, string | Error>, reads: string[]): MeterBalanceSource {
  return {
    unsettled: () => 0,
    onDelivered: () => () => undefined,
    derive: undefined,
    dryRun: false,
    timeoutMs: 1000,
    now: () => 0,
    deltaStatus: async (recordId) => {
      reads.push(recordId);
      const answer = statuses[recordId] ?? 'QUEUED';
      if (answer instanceof Error) throw answer;
      return { recordId, status: answer };
    },
  };
}

const delivered = (n: number, at: number, customerId = 'acme') => ({ referenceId: `r${n}`, customerId, delta: -1, recordId: `rec_${n}`, deliveredAt: at });

describe('DeliveredHolds', () => {
  it('reads one status before a derive and lets go of every delta up to a final one only when told to (with the new balance)', async () => {
    const stats = newGateStats();
    const holds = new DeliveredHolds(stats);
    for (let i = 1; i <= 5; i++) holds.hold(delivered(i, i * 100), 60_000);
    const reads: string[] = [];
    const letGo = await holds.confirm('acme', source({ rec_5: 'VERIFIED' }, reads), 1000, 60_000, 1000);
    expect(reads).toEqual(['rec_5']);
    expect(holds.sum('acme')).toBe(-5); // nothing let go before the derive is applied
    letGo();
    expect(holds.sum('acme')).toBe(0);
    expect(stats.statusReads).toBe(1);
  });

  it('learns the verification lag: a non-final read moves later reads to older deltas; FAILED and 404 are final', async () => {
    const stats = newGateStats();
    const holds = new DeliveredHolds(stats);
    for (let i = 1; i <= 10; i++) holds.hold(delivered(i, i * 1000), 600_000);
    const reads: string[] = [];
    const statuses = { rec_10: 'PROCESSING', rec_4: 'FAILED' } as Record<string, string | Error>;
    (await holds.confirm('acme', source(statuses, reads), 11_000, 600_000, 1000))();
    expect(holds.sum('acme')).toBe(-10);
    // Lag now 2 s (1 s old, doubled): the newest delta at least 2 s old... rec_9 is QUEUED, lag 4 s.
    (await holds.confirm('acme', source(statuses, reads), 11_000, 600_000, 1000))();
    (await holds.confirm('acme', source(statuses, reads), 11_000, 600_000, 1000))();
    expect(reads).toEqual(['rec_10', 'rec_9', 'rec_7']);
    statuses.rec_3 = new PacSpaceApiError('gone', { status: 404, code: 'NOT_FOUND' });
    // Lag 8 s: rec_3 (8 s old) answers 404: never counted, never will be: let go with the two before it.
    (await holds.confirm('acme', source(statuses, reads), 11_000, 600_000, 1000))();
    expect(reads.at(-1)).toBe('rec_3');
    expect(holds.sum('acme')).toBe(-7);
    expect(stats.statusFailures).toBe(0);
  });

  it('a failed read lets go of nothing; without status reads, deltas are let go of after holdMs (counted as unseen)', async () => {
    const stats = newGateStats();
    const holds = new DeliveredHolds(stats);
    holds.hold(delivered(1, 0), 600_000);
    holds.hold(delivered(2, 5000), 600_000);
    (await holds.confirm('acme', source({ rec_2: new Error('down') }, []), 6000, 60_000, 1000))();
    expect(holds.sum('acme')).toBe(-2);
    expect(stats.statusFailures).toBe(1);
    const noStatus = { ...source({}, []), deltaStatus: undefined };
    (await holds.confirm('acme', noStatus, 6000, 3000, 1000))();
    expect(holds.sum('acme')).toBe(-1);
    expect(stats.heldDropped).toBe(1);
  });

  it('keeps its delivery-order queue near what it holds, however many deltas were let go of since', async () => {
    const stats = newGateStats();
    const holds = new DeliveredHolds(stats);
    holds.hold(delivered(0, 0, 'stuck'), 600_000); // never confirmed: the front of the queue for 10 minutes
    for (let i = 1; i <= 5000; i++) {
      holds.hold(delivered(i, i), 600_000);
      if (i % 100 === 0) (await holds.confirm('acme', source({ [`rec_${i}`]: 'VERIFIED' }, []), i, 600_000, 1000))();
    }
    expect(holds.size).toBe(1);
    expect((holds as unknown as { queue: unknown[] }).queue.length).toBeLessThan(2 * 1 + 1024 + 100);
  });

  it('holds at most maxHeld deltas and none longer than the limit, dropping (and counting) the oldest', () => {
    const stats = newGateStats();
    const holds = new DeliveredHolds(stats, 3);
    for (let i = 1; i <= 5; i++) holds.hold(delivered(i, i, i % 2 ? 'odd' : 'even'), 1000);
    expect(holds.size).toBe(3);
    expect(stats.heldDropped).toBe(2);
    holds.hold(delivered(6, 2000), 1000); // everything before 1000 is too old
    expect(holds.size).toBe(1);
    expect([holds.sum('odd'), holds.sum('even'), holds.sum('acme')]).toEqual([0, 0, -1]);
  });
});
