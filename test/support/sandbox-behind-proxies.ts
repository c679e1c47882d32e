import { duplicateReferenceIds, startSandbox, type Sandbox, type SandboxOptions } from '@pacspace-metering/sandbox';
import { startRecordingProxy, type ProxyAction, type ProxyExchange, type RecordingProxy } from './recording-proxy.js';

/** A sandbox for a test file, and recording proxies in front of it that each test starts as it needs. */
export interface SandboxBehindProxies {
  sandbox(): Sandbox;
  /** A proxy that answers with `answer` where it returns something, closed after the test. */
  proxy(answer: (path: string, exchange: ProxyExchange) => ProxyAction | undefined): Promise<RecordingProxy>;
  /** Asserts that the ledger holds `count` deltas of -1, each referenceId once: billed once, balance -count. */
  expectBilledOnce(count: number): void;
}

/**
 * How PacSpace's single endpoint may recognise a delta it already has: by Idempotency-Key only
 * (all it documents, and the sandbox's default), or also by the body's referenceId (undocumented
 * either way). The exactly-once tests of issue 20 run against both: billing must not depend on it.
 */
export const SINGLE_DELTA_DEDUPE = ['idempotency-key', 'reference-id'] as const;

/**
 * Starts a sandbox for the file (reset before each test) and closes the proxies each test
 * started; register it at the top of a test file (or of a `describe`).
 *
 * @example
 * const env = useSandboxBehindProxies(20);
 * const proxy = await env.proxy((path) => (path === BATCH ? htmlPage(404, 'Not Found') : undefined));
 */
export function useSandboxBehindProxies(seed: number, options: SandboxOptions = {}): SandboxBehindProxies {
  let sandbox: Sandbox;
  const proxies: RecordingProxy[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox({ ...options, seed });
  });
  beforeEach(() => sandbox.reset());
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(() => sandbox.close());
  return {
    sandbox: () => sandbox,
    async proxy(answer) {
      const proxy = await startRecordingProxy(sandbox.url, answer);
      proxies.push(proxy);
      return proxy;
    },
    expectBilledOnce(count) {
      const ledger = sandbox.ledger();
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      expect(ledger.deltas).toHaveLength(count);
      expect(ledger.deltas.reduce((total, d) => total + d.delta, 0)).toBe(-count);
    },
  };
}
