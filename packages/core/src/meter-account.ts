import { createHash } from 'node:crypto';
import type { MeterOptions } from './options.js';

/**
 * The account a Meter bills into, as its store tags rows with it (see {@link StoreIdentity}):
 * `options.account` when given; else, for the built-in client, `key:` and 16 hex digits of the
 * SHA-256 of its API key (a fingerprint: the key cannot be read back from it); `dry-run` when
 * metering is disabled; `sdk-client` for an SDK-shaped client, whose key the Meter cannot see.
 * A new API key is a new fingerprint: set `account` to a stable name to rotate keys without
 * changing it.
 *
 * @example
 * meterAccount({ apiKey: 'pk_test_abc.secret' }); // 'key:' + 16 hex digits
 * meterAccount({ client: sdk, account: 'acme-live' }); // 'acme-live'
 */
export function meterAccount(options: MeterOptions): string {
  if (options.account !== undefined) return options.account;
  if (options.enabled === false) return 'dry-run';
  if (options.client !== undefined) return 'sdk-client';
  // The key the built-in client was created with (createPacSpaceClient reads the same two).
  const key = options.apiKey ?? process.env.PACSPACE_API_KEY ?? '';
  return `key:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}
