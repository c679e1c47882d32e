import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultConfig } from './faults.js';
import type { LedgerDelta, LedgerSnapshot } from './ledger.js';
import { topUp } from './top-up.js';
import { resolveOptions, type SandboxOptions } from './options.js';
import { handleRequest } from './routes.js';
import { SandboxState } from './state.js';

/**
 * A running (or stopped) sandbox. State survives stop()/start(); close() is final.
 *
 * @example
 * const sandbox = await startSandbox();
 * await sandbox.stop();   // clients now get ECONNREFUSED
 * await sandbox.start();  // same port, same ledger
 * await sandbox.close();
 */
export interface Sandbox {
  /** `http://127.0.0.1:PORT`, no trailing slash. Give it to a client as its base URL. */
  readonly url: string;
  readonly port: number;
  /** The key the sandbox accepts in `X-Api-Key`. */
  readonly apiKey: string;
  /** A deep copy of every committed delta, every request seen, checkpoints and counters. */
  ledger(): LedgerSnapshot;
  /** Replaces the faults (validated; throws SandboxConfigError). Write numbering and the PRNG restart. */
  setFaults(faults: FaultConfig): void;
  /**
   * Commits a top-up for `customerId` (a negative `amount` takes from the balance), as the app's
   * own billing would: it goes through the delta lifecycle, so derive counts it once VERIFIED.
   * Not a request: no fault applies and the request log does not show it. Throws
   * SandboxConfigError naming a bad field.
   *
   * @example
   * sandbox.topUp('acme', 10); // derive answers computedBalance 10 (at the default, instant pace)
   */
  topUp(customerId: string, amount: number, options?: { reason?: string | undefined }): LedgerDelta;
  /** Clears ledger, idempotency keys, request log and counters; keeps the faults. */
  reset(): void;
  /** Stops listening and destroys open sockets, keeping state: clients see ECONNREFUSED ("PacSpace down"). */
  stop(): Promise<void>;
  /** Listens again on the same port with the same state. */
  start(): Promise<void>;
  /** Final shutdown: stops and destroys open sockets. */
  close(): Promise<void>;
}

/**
 * Starts a local server compatible with PacSpace's Balance API.
 *
 * @param options - all optional; see {@link SandboxOptions} for defaults (port 0, host 127.0.0.1,
 *   generated key, no faults, seed 1, 1 MiB bodies, 1,000,000 logged requests).
 * @throws SandboxConfigError (a TypeError) naming the bad option.
 *
 * @example
 * const sandbox = await startSandbox({ faults: { commitThenDrop: { requests: [1] } } });
 * await fetch(`${sandbox.url}/api/v1/balance/delta`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', 'x-api-key': sandbox.apiKey },
 *   body: JSON.stringify({ customerId: 'cust_1', delta: 1, reason: 'api_call' }),
 * }).catch(() => 'dropped, but committed');
 * sandbox.ledger().deltas.length; // 1
 * await sandbox.close();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const resolved = resolveOptions(options);
  const state = new SandboxState(resolved);
  const server = createServer((req, res) => {
    // handleRequest answers its own errors; this only guards against a failure while answering.
    handleRequest(state, req, res).catch(() => req.socket.destroy());
  });
  let port = resolved.port;
  let closed = false;

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, resolved.host, () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      // Also in-flight and keep-alive connections, so a client really sees the server vanish.
      server.closeAllConnections();
    });

  await listen();
  const url = `http://${urlHost(resolved.host)}:${port}`;

  return {
    url,
    port,
    apiKey: resolved.apiKey,
    ledger: () => state.ledger.snapshot(),
    setFaults: (faults) => void state.setFaults(faults),
    topUp: (customerId, amount, topUpOptions = {}) => topUp(state.ledger, { customerId, amount, ...topUpOptions }, Date.now()),
    reset: () => state.reset(),
    stop: stopListening,
    start: async () => {
      if (closed) throw new Error('This sandbox was closed; start a new one with startSandbox().');
      if (!server.listening) await listen();
    },
    close: async () => {
      closed = true;
      await stopListening();
    },
  };
}

/** A host usable in a URL: wildcard binds are reached over loopback, IPv6 needs brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
