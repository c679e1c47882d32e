import { hasClaims, isClaimed } from '@pacspace-metering/core';
import type { HttpObject } from '../enhancer/http-object.js';

/**
 * @internal True when the Express middleware already enqueued this delta (its claim is on the request). The
 * referenceId is built by the Meter from the request id, so the same call metered twice carries
 * the same referenceId and counts once at PacSpace; with the claim not even a second delivery is
 * made. The middleware keeps its claims in `res.locals` (older versions: on `req`).
 */
export function claimedByMiddleware(req: unknown, key: string): boolean {
  const holder = req as HttpObject | undefined;
  const locals = holder?.res?.locals as object | undefined;
  const claims = locals !== undefined && hasClaims(locals) ? locals : holder !== undefined && hasClaims(holder) ? holder : undefined;
  return claims !== undefined && isClaimed(claims, key);
}
