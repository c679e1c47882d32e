import { boundText, clampErrorCounts, errorCodeLabel, KNOWN_ERROR_CODES, OTHER_ERROR_CODE } from './error-codes.js';

describe('error codes as labels', () => {
  it("keeps PacSpace's and our codes, and counts anything else as OTHER", () => {
    for (const code of ['VALIDATION_ERROR', 'INSUFFICIENT_CREDITS', 'CADENCE_LIMIT', 'TIMEOUT', 'NETWORK_ERROR', 'ECONNRESET', 'MISSING_RESULT']) expect(errorCodeLabel(code)).toBe(code);
    for (const code of ['customer cust_42 blocked by policy 7', 'validation_error', '', undefined, 42]) expect(errorCodeLabel(code)).toBe(OTHER_ERROR_CODE);
    expect(KNOWN_ERROR_CODES.has(OTHER_ERROR_CODE)).toBe(false);
  });

  it('adds up the counts of codes that share a label', () => {
    expect(clampErrorCounts({ TIMEOUT: 2, 'cust_1 blocked': 1, 'cust_2 blocked': 3 })).toEqual({ TIMEOUT: 2, OTHER: 4 });
    expect(clampErrorCounts({})).toEqual({});
  });

  it('bounds upstream text, marking the cut', () => {
    expect(boundText('short', 10)).toBe('short');
    const cut = boundText('x'.repeat(600), 500);
    expect(cut).toHaveLength(500);
    expect(cut.endsWith('…')).toBe(true);
  });
});
