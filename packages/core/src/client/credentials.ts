import type { BalanceClient } from './client.js';
import { MeteringError, PacSpaceApiError } from '../errors.js';
import { withDeadline } from '../delivery/deadline.js';

/** What a successful {@link verifyCredentials} resolves to. */
export interface CredentialsCheck {
  /** How long PacSpace took to answer, in ms. */
  latencyMs: number;
}

/** A customer id no real account uses: the check reads its (empty) balance. */
const PROBE_CUSTOMER = 'pacspace-metering.credentials-check';

/**
 * Checks that PacSpace accepts the client's API key, by reading a balance (`balance.derive`),
 * which writes nothing and bills nothing. Resolves once PacSpace answered anything but 401/403 (a
 * 404 for the unknown probe customer included). Rejects with a {@link PacSpaceApiError}: an answer
 * that is not PacSpace's (an HTML page from a proxy, or a baseUrl that is not PacSpace) as it is; code
 * `INVALID_API_KEY` (401) or the server's code for a 403 (e.g. `API_KEY_ENVIRONMENT_HOST_MISMATCH`),
 * with a message that says what to check; `NETWORK_ERROR`/`TIMEOUT` or a 5xx when PacSpace could not
 * be reached; `UNSUPPORTED` (a {@link MeteringError}) for an SDK-shaped client without `derive`.
 *
 * @example
 * await verifyCredentials(client, 5_000); // before app.listen(): a wrong key fails the start-up
 */
export async function verifyCredentials(client: BalanceClient, timeoutMs: number): Promise<CredentialsCheck> {
  const derive = client.balance.derive;
  if (typeof derive !== 'function') throw new MeteringError('UNSUPPORTED', 'the client has no balance.derive(customerId, options) to check the key with; pass the built-in client (apiKey/baseUrl) or an SDK client that has it');
  const started = Date.now();
  try {
    await withDeadline(() => derive.call(client.balance, PROBE_CUSTOMER, { limit: 1 }), timeoutMs, '/api/v1/balance/derive');
  } catch (err) {
    const { status, pacspaceEnvelope } = err as Partial<PacSpaceApiError>;
    // Not PacSpace's answer (an HTML page): the baseUrl or a proxy between is wrong, whatever the status.
    if (pacspaceEnvelope === false) throw err;
    if (status === 401 || status === 403) {
      const code = (err as PacSpaceApiError).code ?? 'INVALID_API_KEY';
      throw new PacSpaceApiError(`PacSpace refused the API key (${status} ${code}): check PACSPACE_API_KEY, and that a pk_test_ key goes to the sandbox and a pk_live_ key to production`, { status, code, requestPath: '/api/v1/balance/derive', cause: err });
    }
    if (status !== 404) throw err;
  }
  return { latencyMs: Date.now() - started };
}
