import { Writable } from 'node:stream';
import { CliUsageError, main, parseCliArgs } from './cli.js';
import { startSandbox } from './server.js';

function sink(): { stream: Writable; text(): string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _enc, done) => void ((text += String(chunk)), done()) }), text: () => text };
}

describe('pacspace-sandbox flags and command for testing a balance gate', () => {
  it('--top-up (repeatable) and --derive-latency-ms / --derive-status map onto top-ups and the derive fault', () => {
    expect(parseCliArgs(['--top-up', 'acme=10', '--top-up', 'beta=-2.5', '--derive-latency-ms', '3000', '--derive-status', '503'])).toEqual({
      help: false,
      options: { port: 4010, faults: { derive: { latencyMs: 3000, status: 503 } } },
      topUps: [
        { customerId: 'acme', amount: 10 },
        { customerId: 'beta', amount: -2.5 },
      ],
    });
    for (const [argv, flag] of [
      [['--top-up', 'acme'], '--top-up'],
      [['--top-up', 'a b=1'], '--top-up'],
      [['--top-up', 'acme=0'], '--top-up'],
      [['--derive-status', '404'], '--derive-status'],
      [['--derive-latency-ms', 'slow'], '--derive-latency-ms'],
    ]) {
      expect(() => parseCliArgs(argv as string[])).toThrow(CliUsageError);
      expect(() => parseCliArgs(argv as string[])).toThrow(flag as string);
    }
  });

  it('`pacspace-sandbox top-up CUSTOMER AMOUNT` tops up a running sandbox, and says why it could not', async () => {
    const sandbox = await startSandbox();
    const previous = process.exitCode;
    try {
      const out = sink();
      const err = sink();
      await main(['top-up', 'acme', '7', '--url', sandbox.url, '--api-key', sandbox.apiKey], { out: out.stream, err: err.stream });
      expect(out.text()).toMatch(/^Topped up acme by 7: rec_1 \(VERIFIED\)\n$/);
      expect(sandbox.ledger().deltas).toMatchObject([{ customerId: 'acme', delta: 7, reason: 'top_up' }]);

      await main(['top-up', 'acme', '7', '--url', sandbox.url, '--api-key', 'pk_test_wrong.key'], { out: out.stream, err: err.stream });
      expect(err.text()).toContain('pacspace-sandbox top-up: The X-Api-Key header is missing or is not a valid API key.');
      expect(process.exitCode).toBe(1);
      await main(['top-up', 'acme'], { out: out.stream, err: err.stream });
      expect(err.text()).toContain('give a CUSTOMER and an AMOUNT');
      expect(process.exitCode).toBe(2);
    } finally {
      process.exitCode = previous;
      await sandbox.close();
    }
  });
});
