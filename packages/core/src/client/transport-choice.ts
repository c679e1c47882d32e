import { MeteringConfigError } from '../errors.js';
import { createFetchTransport } from './fetch-transport.js';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './http-transport.js';

/**
 * Which HTTP client the built-in client sends with. `'node'`: node:http/node:https with a
 * keep-alive agent (`maxSockets`). `'fetch'`: the global `fetch`. `'auto'`: `'node'` on Node.js,
 * `'fetch'` everywhere else (Bun, Deno, Cloudflare Workers, edge runtimes), where `fetch` is the
 * runtime's own client and node:http, when there is one, is built on it.
 *
 * @example
 * const transport: TransportChoice = 'fetch';
 * createMeter({ apiKey: env.PACSPACE_API_KEY, transport });
 */
export type TransportChoice = 'auto' | 'node' | 'fetch';

const CHOICES: readonly TransportChoice[] = ['auto', 'node', 'fetch'];

/** Builds the transport `choice` names (default `'auto'`); throws {@link MeteringConfigError} naming `transport` for anything else. */
export function createTransport(choice: unknown, options: HttpTransportOptions): HttpTransport {
  return resolveTransport(choice) === 'node' ? createHttpTransport(options) : createFetchTransport(options);
}

/** What `'auto'` (or `undefined`) means here; other choices are checked and returned as they are. */
export function resolveTransport(choice: unknown): 'node' | 'fetch' {
  if (!CHOICES.includes(choice as TransportChoice) && choice !== undefined) {
    throw new MeteringConfigError('transport', `must be 'auto', 'node' or 'fetch' (got ${JSON.stringify(choice)})`);
  }
  if (choice === 'fetch' || ((choice === undefined || choice === 'auto') && !onNodeJs())) {
    if (typeof fetch !== 'function') throw new MeteringConfigError('transport', "'fetch' needs a global fetch, which this runtime does not have; use 'node'");
    return 'fetch';
  }
  return 'node';
}

/**
 * True on Node.js itself. Node 21+ says so in `navigator.userAgent` (`Node.js/22`), as Bun (`Bun/1.2`),
 * Deno (`Deno/2.1`) and Workers (`Cloudflare-Workers`) name themselves; Node 20 has no `navigator`,
 * and there a Node version is the answer.
 */
function onNodeJs(): boolean {
  const userAgent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  if (typeof userAgent === 'string') return userAgent.startsWith('Node.js/');
  return typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
}
