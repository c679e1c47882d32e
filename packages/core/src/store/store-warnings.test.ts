import { jest } from '@jest/globals';
import { warnAtMostEveryMinute } from './store-warnings.js';

class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

describe('warnAtMostEveryMinute (a store default onError)', () => {
  const warnings: Array<{ message: string; code: string }> = [];
  const original = process.emitWarning;
  beforeEach(() => {
    warnings.length = 0;
    jest.useFakeTimers();
    process.emitWarning = ((message: string, options: { code: string }) => warnings.push({ message, code: options.code })) as typeof process.emitWarning;
  });
  afterEach(() => {
    process.emitWarning = original;
    jest.useRealTimers();
  });

  it('writes the first error of a code at once and counts the repeats of the minute in one line', async () => {
    const report = warnAtMostEveryMinute<StoreError>();
    report(new StoreError('STORE_WRITE_FAILED', 'disk full'));
    report(new StoreError('STORE_WRITE_FAILED', 'disk still full'));
    report(new StoreError('STORE_WRITE_FAILED', 'disk full again'));
    report(new StoreError('STORE_CORRUPT', 'bad row 7'));
    expect(warnings).toEqual([
      { message: 'pacspace-metering: store error STORE_WRITE_FAILED - disk full', code: 'STORE_WRITE_FAILED' },
      { message: 'pacspace-metering: store error STORE_CORRUPT - bad row 7', code: 'STORE_CORRUPT' },
    ]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(warnings.slice(2)).toEqual([{ message: 'pacspace-metering: store error STORE_WRITE_FAILED - 2 more like it in the last 60 s (last: disk full again)', code: 'STORE_WRITE_FAILED' }]);
  });
});
