import { errorReply, type Reply } from './envelope.js';

/**
 * The code for "PacSpace has this, the sandbox does not": distinct from NOT_FOUND and
 * VALIDATION_ERROR, so a client can tell a sandbox gap from its own mistake.
 */
export const NOT_IMPLEMENTED = 'NOT_IMPLEMENTED_IN_SANDBOX';

/** The routes the sandbox answers, listed in every 501. */
export const IMPLEMENTED_ROUTES = [
  'POST /api/v1/balance/delta',
  'POST /api/v1/balance/delta/batch',
  'POST /api/v1/balance/checkpoint',
  'GET /api/v1/balance/delta/:recordId',
  'GET /api/v1/balance/derive/:customerId',
];

/** 501 for a route PacSpace may have but the sandbox does not. */
export function notImplementedRoute(method: string, path: string): Reply {
  const message = `The sandbox does not implement ${method} ${path}. Implemented: ${IMPLEMENTED_ROUTES.join(', ')}.`;
  return errorReply(501, NOT_IMPLEMENTED, message, 'not-implemented', { implemented: IMPLEMENTED_ROUTES });
}

/** 400 for a documented parameter the sandbox does not model, naming it: refused, never ignored. */
export function notImplementedParameter(field: string, supported: string): Reply {
  const message = `${field} is not implemented in the sandbox (it would be ignored, so it is refused); supported here: ${supported}.`;
  return errorReply(400, NOT_IMPLEMENTED, message, 'invalid', { field });
}
