/**
 * `response` with `header: requestId` set. A Response whose headers are immutable (one passed on
 * from `fetch()`) is copied first; the body is moved, not read.
 */
export function echoed(response: Response, header: string, requestId: string): Response {
  try {
    response.headers.set(header, requestId);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(header, requestId);
    return copy;
  }
}
