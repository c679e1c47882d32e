import type { ProxyAction } from './recording-proxy.js';

/** The batch endpoint. */
export const BATCH = '/api/v1/balance/delta/batch';
/** The single-delta endpoint. */
export const SINGLE = '/api/v1/balance/delta';

/** An error in PacSpace's own JSON envelope, as the sandbox writes it. */
export function pacspaceError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): ProxyAction {
  return { status, body: { success: false, statusCode: status, error: { code, message, ...extra }, message } };
}

/** An HTML error page, as a proxy, a load balancer or a WAF in front of PacSpace answers. */
export function htmlPage(status: number, title: string): ProxyAction {
  return { status, contentType: 'text/html', body: `<html><head><title>${status} ${title}</title></head><body><center><h1>${status} ${title}</h1></center><hr><center>nginx</center></body></html>` };
}

