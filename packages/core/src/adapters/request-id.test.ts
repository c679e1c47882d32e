import { createHash } from 'node:crypto';
import { DeltaValidationError } from '../errors.js';
import { PROCESS_INSTANCE_ID, isAcceptedRequestId, resolveRequestId } from './request-id.js';

const req = (id?: unknown, headers: Record<string, string> = {}, method = 'GET', url = '/v1/reports/1') => ({ id, headers, method, url });
/** What a client-chosen id gets appended: the call it came with. */
const callOf = (method: string, url: string) => createHash('sha256').update(`${method} ${url}`).digest('hex').slice(0, 16);

describe('resolveRequestId', () => {
  it('prefers the user option, then a trusted req.id, then a named header, then a fresh UUID', () => {
    expect(resolveRequestId(req('upstream-id', { 'x-request-id': 'hdr' }), { requestId: () => 'mine', trustUpstreamId: true, requestIdHeader: 'X-Request-Id' })).toEqual({ id: 'mine', source: 'option' });
    expect(resolveRequestId(req('upstream-id', { 'x-request-id': 'hdr' }), { trustUpstreamId: true, requestIdHeader: 'x-request-id' })).toEqual({
      id: `upstream-id.${callOf('GET', '/v1/reports/1')}`,
      source: 'req.id',
    });
    expect(resolveRequestId(req(undefined, { 'x-request-id': 'hdr' }), { requestIdHeader: 'X-Request-Id' })).toEqual({ id: `hdr.${callOf('GET', '/v1/reports/1')}`, source: 'header' });
    const generated = resolveRequestId(req());
    expect(generated.source).toBe('generated');
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not trust req.id unless asked: pino-http recipes copy it from the client', () => {
    const first = resolveRequestId(req('client-chosen'), { requestIdHeader: 'x-request-id' });
    const second = resolveRequestId(req('client-chosen'));
    expect([first.source, second.source]).toEqual(['generated', 'generated']);
    expect(first.id).not.toBe(second.id);
  });

  it('ignores a request header unless the user names it', () => {
    const first = resolveRequestId(req(undefined, { 'x-request-id': 'same' }));
    const second = resolveRequestId(req(undefined, { 'x-request-id': 'same' }));
    expect(first.source).toBe('generated');
    expect(first.id).not.toBe(second.id);
  });

  it('binds a client-chosen id to the call: the same call keeps it, another URL or method gets another', () => {
    const options = { requestIdHeader: 'x-request-id' };
    const headers = { 'x-request-id': 'abc' };
    const retry = [resolveRequestId(req(undefined, headers), options).id, resolveRequestId(req(undefined, headers), options).id];
    expect(retry[0]).toBe(retry[1]);
    const other = [
      resolveRequestId(req(undefined, headers, 'GET', '/v1/reports/2'), options).id,
      resolveRequestId(req(undefined, headers, 'DELETE', '/v1/reports/1'), options).id,
      resolveRequestId(req(undefined, headers, 'GET', '/v1/reports/1?page=2'), options).id,
    ];
    expect(new Set([...other, retry[0]]).size).toBe(4);
    // Express's originalUrl wins over the router-relative url.
    const mounted = { ...req(undefined, headers, 'GET', '/1'), originalUrl: '/v1/reports/1' };
    expect(resolveRequestId(mounted, options).id).toBe(retry[0]);
  });

  it('skips hostile or oversized header values and falls back to a fresh id', () => {
    for (const hostile of ['a b', 'x'.repeat(129), '../../etc', 'id\r\nset-cookie: x', '']) {
      const resolved = resolveRequestId(req(undefined, { 'x-request-id': hostile }), { requestIdHeader: 'x-request-id' });
      expect(resolved.source).toBe('generated');
    }
  });

  it('qualifies counter ids (pino-http, Fastify) with the process instance, so a restart cannot reuse them', () => {
    const trusted = { trustUpstreamId: true };
    expect(resolveRequestId(req(7), trusted).id).toBe(`${PROCESS_INSTANCE_ID}-7.${callOf('GET', '/v1/reports/1')}`);
    expect(resolveRequestId(req(undefined), { requestId: () => 'req-1a' }).id).toBe(`${PROCESS_INSTANCE_ID}-req-1a`);
    expect(resolveRequestId(req(undefined), { requestId: () => '0f6c5c6e-2f7e-4d5c-9d0e-6a1b2c3d4e5f' }).id).toBe('0f6c5c6e-2f7e-4d5c-9d0e-6a1b2c3d4e5f');
  });

  it('reports a requestId resolver that throws, instead of silently billing under a fresh UUID', () => {
    const resolved = resolveRequestId(req('upstream'), { requestId: () => { throw new Error('boom'); }, trustUpstreamId: true });
    expect(resolved.source).toBe('generated');
    expect(resolved.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(resolved.error).toBeInstanceOf(DeltaValidationError);
    expect(resolved.error).toMatchObject({ field: 'requestId', message: 'requestId: the requestId resolver threw: boom' });
  });

  it('reports a requestId resolver that returns a Promise, and handles its rejection', async () => {
    const rejected = Promise.reject(new Error('async lookup failed'));
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const resolved = resolveRequestId(req(), { requestId: () => rejected });
      expect(resolved.error).toMatchObject({ field: 'requestId' });
      expect(resolved.error!.message).toMatch(/returned a Promise/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('accepts only bounded, plain ids', () => {
    expect(isAcceptedRequestId('abc-123_x.y:z')).toBe(true);
    expect(isAcceptedRequestId('a/b')).toBe(false);
    expect(isAcceptedRequestId(42)).toBe(false);
  });
});
