import { ASSUMED_KEY_TTL_MS, errorColumns, whyNotReplayed, type DeadLetter } from './dead-letter.js';
import { PacSpaceApiError } from '../errors.js';
import { loadStoredDelta, type StoredDeltaRow } from './stored-delta.js';

const referenceId = 'api:api_request:acme:req-1';
const row = (body: string): StoredDeltaRow => ({ id: 7, reference_id: referenceId, customer_id: 'acme', body, bytes: body.length, accepted_at: 1_000, attempts: 2, due_at: 5_000 });
const good = JSON.stringify({ customerId: 'acme', delta: -3, reason: 'api_request', referenceId });

describe('loadStoredDelta: a durable row back as the Meter item, or why it cannot be sent', () => {
  it('rebuilds the frozen body, key, attempts and due time, and the fields the hooks report', () => {
    const { item, problem } = loadStoredDelta(row(good));
    expect(problem).toBeUndefined();
    expect(item).toMatchObject({ seq: 7, referenceId, customerId: 'acme', body: good, attempts: 2, dueAt: 5_000, acceptedAt: 1_000 });
    expect(item.fields).toEqual({ customerId: 'acme', delta: -3, reason: 'api_request', referenceId });
  });

  it.each([
    ['not JSON', '{oops', 'a body that is not JSON'],
    ['another referenceId', JSON.stringify({ customerId: 'acme', delta: -1, referenceId: 'other' }), "referenceId (\"other\") is not the row's"],
    ['another customer', JSON.stringify({ customerId: 'globex', delta: -1, referenceId }), "customerId (\"globex\") is not the row's"],
    ['no finite delta', JSON.stringify({ customerId: 'acme', delta: null, referenceId }), 'without a finite delta'],
  ])('names the problem of a body that is %s', (_, body, expected) => {
    expect(loadStoredDelta(row(body)).problem).toContain(expected);
  });
});

describe('whyNotReplayed: the replay rule every durable store applies', () => {
  const now = 10 * ASSUMED_KEY_TTL_MS;
  const letter = (reason: string, ageMs = 1_000): DeadLetter => ({ id: 1, referenceId, customerId: 'acme', reason, attempts: 1, firstAcceptedAt: now - ageMs, acceptedAt: now - ageMs, failedAt: now, error: { code: null, status: null, message: 'x' }, body: good });

  it('replays an ordinary letter, keeps a 409 or corrupt one unless named, and an expired key unless allowed', () => {
    expect(whyNotReplayed(letter('max_attempts'), {}, now, {})).toBeUndefined();
    expect(whyNotReplayed(letter('integrity'), {}, now, {})).toContain('409');
    expect(whyNotReplayed(letter('integrity'), { reason: 'integrity' }, now, {})).toBeUndefined();
    expect(whyNotReplayed(letter('corrupt'), {}, now, {})).toContain('not its delta');
    expect(whyNotReplayed(letter('corrupt'), { ids: [1] }, now, {})).toBeUndefined();
    expect(whyNotReplayed(letter('max_elapsed', ASSUMED_KEY_TTL_MS + 1), {}, now, {})).toContain('24 h');
    expect(whyNotReplayed(letter('max_elapsed', ASSUMED_KEY_TTL_MS + 1), {}, now, { allowExpiredKeys: true })).toBeUndefined();
  });

  it('errorColumns reads code, status and message from whatever the meter gave up with', () => {
    expect(errorColumns(new PacSpaceApiError('Conflict', { status: 409, code: 'IDEMPOTENCY_CONFLICT' }))).toEqual({ code: 'IDEMPOTENCY_CONFLICT', status: 409, message: 'Conflict' });
    expect(errorColumns('plain')).toEqual({ code: null, status: null, message: 'plain' });
  });
});
