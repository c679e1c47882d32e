import { PROCESS_INSTANCE_ID, isAcceptedRequestId, resolveRequestId } from './request-id.js';

const req = (id?: unknown, headers: Record<string, string> = {}) => ({ id, headers });

describe('resolveRequestId', () => {
  it('prefers the user option, then req.id, then a named header, then a fresh UUID', () => {
    expect(resolveRequestId(req('upstream-id', { 'x-request-id': 'hdr' }), { requestId: () => 'mine', requestIdHeader: 'X-Request-Id' })).toEqual({ id: 'mine', source: 'option' });
    expect(resolveRequestId(req('upstream-id', { 'x-request-id': 'hdr' }), { requestIdHeader: 'x-request-id' })).toEqual({ id: 'upstream-id', source: 'req.id' });
    expect(resolveRequestId(req(undefined, { 'x-request-id': 'hdr' }), { requestIdHeader: 'X-Request-Id' })).toEqual({ id: 'hdr', source: 'header' });
    const generated = resolveRequestId(req());
    expect(generated.source).toBe('generated');
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores a request header unless the user names it', () => {
    const first = resolveRequestId(req(undefined, { 'x-request-id': 'same' }));
    const second = resolveRequestId(req(undefined, { 'x-request-id': 'same' }));
    expect(first.source).toBe('generated');
    expect(first.id).not.toBe(second.id);
  });

  it('skips hostile or oversized header values and falls back to a fresh id', () => {
    for (const hostile of ['a b', 'x'.repeat(129), '../../etc', 'id\r\nset-cookie: x', '']) {
      const resolved = resolveRequestId(req(undefined, { 'x-request-id': hostile }), { requestIdHeader: 'x-request-id' });
      expect(resolved.source).toBe('generated');
    }
  });

  it('qualifies counter ids (pino-http, Fastify) with the process instance, so a restart cannot reuse them', () => {
    expect(resolveRequestId(req(7)).id).toBe(`${PROCESS_INSTANCE_ID}-7`);
    expect(resolveRequestId(req('req-1a')).id).toBe(`${PROCESS_INSTANCE_ID}-req-1a`);
    expect(resolveRequestId(req('0f6c5c6e-2f7e-4d5c-9d0e-6a1b2c3d4e5f')).id).toBe('0f6c5c6e-2f7e-4d5c-9d0e-6a1b2c3d4e5f');
  });

  it('survives a throwing user option', () => {
    const resolved = resolveRequestId(req('fallback-id'), { requestId: () => { throw new Error('boom'); } });
    expect(resolved).toEqual({ id: 'fallback-id', source: 'req.id' });
  });

  it('accepts only bounded, plain ids', () => {
    expect(isAcceptedRequestId('abc-123_x.y:z')).toBe(true);
    expect(isAcceptedRequestId('a/b')).toBe(false);
    expect(isAcceptedRequestId(42)).toBe(false);
  });
});
