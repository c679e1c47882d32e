import { buildReferenceId, segment } from './reference-id.js';

describe('buildReferenceId', () => {
  it('keeps plain parts readable, joined by colons', () => {
    expect(buildReferenceId({ scope: 'reports-api', operation: 'report_generated', customerId: 'acme', requestId: 'req-1.a' })).toBe(
      'reports-api:report_generated:acme:req-1.a',
    );
  });

  it('is deterministic: the same parts always give the same id', () => {
    const parts = { scope: 's', operation: 'op with spaces', customerId: 'cust:1', requestId: 'x'.repeat(100) };
    expect(buildReferenceId(parts)).toBe(buildReferenceId({ ...parts }));
  });

  it('encodes parts with separators or unsafe characters so different parts never collide', () => {
    const a = buildReferenceId({ scope: 's', operation: 'a:b', customerId: 'c', requestId: 'r' });
    const b = buildReferenceId({ scope: 's', operation: 'a', customerId: 'b:c', requestId: 'r' });
    const c = buildReferenceId({ scope: 's', operation: 'a_b', customerId: 'c', requestId: 'r' });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a.split(':')).toHaveLength(4);
    expect(segment('a:b')).toMatch(/^~a_b~[0-9a-f]{16}$/);
  });

  it('never mistakes an encoded segment for a plain one', () => {
    // A plain segment cannot contain "~", so a client cannot forge the encoded form of another value.
    expect(segment('~a_b~0123456789abcdef')).not.toBe('~a_b~0123456789abcdef');
  });

  it('stays within 255 characters of a fixed charset, whatever the input', () => {
    const id = buildReferenceId({ scope: 'x'.repeat(64), operation: 'é'.repeat(500), customerId: 'c'.repeat(128), requestId: '\u0000<script>'.repeat(50) });
    expect(id.length).toBeLessThanOrEqual(255);
    expect(id).toMatch(/^[A-Za-z0-9_.:~-]+$/);
  });

  it('encodes the request id when four long plain segments would pass 255 characters, and only then', () => {
    const long = (c: string, n = 64) => c.repeat(n);
    const id = buildReferenceId({ scope: long('s'), operation: long('o'), customerId: long('c'), requestId: long('r') });
    expect(id.length).toBeLessThanOrEqual(255);
    expect(id.startsWith(`${long('s')}:${long('o')}:${long('c')}:~`)).toBe(true);
    expect(id.split(':')[3]).toMatch(/^~r{24}~[0-9a-f]{16}$/);
    // Deterministic, and still unique per request id.
    expect(buildReferenceId({ scope: long('s'), operation: long('o'), customerId: long('c'), requestId: long('r') })).toBe(id);
    expect(buildReferenceId({ scope: long('s'), operation: long('o'), customerId: long('c'), requestId: `${long('r', 63)}q` })).not.toBe(id);
    // 255 characters exactly is kept as it is.
    const fits = buildReferenceId({ scope: long('s'), operation: long('o'), customerId: long('c'), requestId: long('r', 60) });
    expect(fits).toBe(`${long('s')}:${long('o')}:${long('c')}:${long('r', 60)}`);
    expect(fits).toHaveLength(255);
  });
});
