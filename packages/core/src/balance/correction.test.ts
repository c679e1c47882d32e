import { DeltaValidationError } from '../errors.js';
import { buildReferenceId } from '../intake/reference-id.js';
import { correctionOf, correctionReferenceId } from './correction.js';

describe('correctionOf', () => {
  it('reverses the whole delta by default, adjusting the original by its referenceId, under a referenceId fixed by it', () => {
    const original = buildReferenceId({ scope: 'api', operation: 'export', customerId: 'acme', requestId: 'req-1' });
    expect(correctionOf({ referenceId: original, customerId: 'acme', delta: -5 })).toEqual({
      customerId: 'acme',
      delta: 5,
      reason: 'correction',
      referenceId: `${original}~reversal`,
      adjusts: { referenceId: original },
    });
    expect(correctionOf({ referenceId: original, customerId: 'acme', delta: -5, amount: 2, label: 'partial-1', reason: 'refund', metadata: { ticket: 7 } })).toEqual({
      customerId: 'acme',
      delta: 2,
      reason: 'refund',
      referenceId: `${original}~partial-1`,
      adjusts: { referenceId: original },
      metadata: { ticket: 7 },
    });
  });

  it('stays within 255 characters (the Idempotency-Key limit), and never equals an id buildReferenceId makes', () => {
    const long = 'a'.repeat(250);
    const id = correctionReferenceId(long);
    expect(id).toMatch(/^~[0-9a-f]{32}~reversal$/);
    expect(correctionReferenceId(long)).toBe(id);
    expect(correctionReferenceId('x:y')).not.toBe(correctionReferenceId('x:y', 'other'));
  });

  it.each([
    [{ referenceId: 'bad id', customerId: 'acme', delta: -1 }, 'referenceId'],
    [{ referenceId: 'ok', customerId: 'a b', delta: -1 }, 'customerId'],
    [{ referenceId: 'ok', customerId: 'acme', delta: 0 }, 'delta'],
    [{ referenceId: 'ok', customerId: 'acme', delta: -1, amount: Number.NaN }, 'amount'],
    [{ referenceId: 'ok', customerId: 'acme', delta: -1, label: 'no~tilde' }, 'label'],
  ])('refuses %j naming %s', (input, field) => {
    let thrown: unknown;
    try {
      correctionOf(input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DeltaValidationError);
    expect((thrown as DeltaValidationError).field).toBe(field);
  });
});
