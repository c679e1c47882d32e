import { createDefaultReporter } from './default-reporter.js';

describe('the default reporter', () => {
  it('writes the first of each kind, counts repeats within a minute, and says routine work not at all', () => {
    const lines: string[] = [];
    let at = 0;
    const reporter = createDefaultReporter((line) => lines.push(line), () => at);
    reporter.debug({ referenceId: 'x' }, 'delivered');
    reporter.info({}, 'queued');
    reporter.warn({ referenceId: 'a', reason: 'queue_full', err: { code: 'DELTA_DROPPED', message: 'the queue is full' } }, 'pacspace-metering: delta refused (queue_full)');
    for (let i = 0; i < 40; i++) reporter.warn({ referenceId: `b${i}` }, 'pacspace-metering: delta refused (queue_full)');
    reporter.error({ customerId: 'acme' }, 'pacspace-metering: PacSpace refused the API key');
    expect(lines).toEqual([
      'pacspace-metering: delta refused (queue_full) - referenceId a; DELTA_DROPPED: the queue is full',
      'pacspace-metering: PacSpace refused the API key - customer acme',
    ]);
    at = 61_000;
    reporter.warn({ referenceId: 'c' }, 'pacspace-metering: delta refused (queue_full)');
    expect(lines.slice(2)).toEqual([
      'pacspace-metering: delta refused (queue_full) - 40 more like it in the last 61 s (last: referenceId b39)',
      'pacspace-metering: delta refused (queue_full) - referenceId c',
    ]);
  });

  it('never throws, even when writing fails', () => {
    const reporter = createDefaultReporter(() => {
      throw new Error('stderr closed');
    });
    expect(() => reporter.error({}, 'x')).not.toThrow();
  });
});
