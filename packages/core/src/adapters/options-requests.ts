import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether an HTTP request is left unbilled because it is an `OPTIONS` request, as the Express
 * middleware and the NestJS guard decide on entry. A CORS preflight (`OPTIONS` with an
 * `Access-Control-Request-Method` header) is never billed: the browser sends it on its own to ask
 * leave for the call that follows, and that call is billed. Any other `OPTIONS` request asks what
 * a resource allows and does no billable work, so it is unbilled too unless `meterOptionsRequests`
 * is true (an API whose `OPTIONS` handlers do work it charges for). Other methods, `HEAD`
 * included, are billed as usual.
 *
 * @param req - the request (Node's, Express's or Fastify's): its `method`, and for `OPTIONS` its `headers`.
 * @param meterOptionsRequests - bill `OPTIONS` requests that are not preflights. Default `false`.
 *
 * @example
 * if (isUnbilledOptionsRequest(req)) return next(); // a preflight: not a billable call
 */
export function isUnbilledOptionsRequest(req: { method?: string | undefined; headers: IncomingHttpHeaders }, meterOptionsRequests = false): boolean {
  // Only the method is read on the common path: headers are looked at for OPTIONS alone.
  if (req.method !== 'OPTIONS') return false;
  return !meterOptionsRequests || req.headers['access-control-request-method'] !== undefined;
}
