import { randomBytes } from 'node:crypto';

/**
 * `bytes` random bytes as hex, from node:crypto. Cloudflare Workers refuse random values outside a
 * request (while modules load, or a Meter is created at the top of a Worker): there, and only
 * there, `Math.random` stands in, which is enough for what these values are for (telling
 * processes and instances apart), not for secrets.
 *
 * @example
 * randomHex(6); // '3f9a0c5e12b4'
 */
export function randomHex(bytes: number): string {
  try {
    return randomBytes(bytes).toString('hex');
  } catch {
    let hex = '';
    for (let i = 0; i < bytes; i++) hex += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
    return hex;
  }
}
