import { MemoryStore } from './store/memory-store.js';
import { createMeter } from './meter.js';
import { meterAccount } from './meter-account.js';
import type { StoreAttachment } from './store/store.js';

describe('meterAccount: which account a durable store tags rows with', () => {
  it('is a fingerprint of the API key: stable, different per key, never the key', () => {
    const a = meterAccount({ apiKey: 'pk_live_abc123.secret-one' });
    expect(a).toMatch(/^key:[0-9a-f]{16}$/);
    expect(meterAccount({ apiKey: 'pk_live_abc123.secret-one' })).toBe(a);
    expect(meterAccount({ apiKey: 'pk_live_abc123.secret-two' })).not.toBe(a);
    expect(a).not.toContain('abc123');
  });

  it('is the account option when given, sdk-client for an SDK client, dry-run when disabled', () => {
    const client = { balance: { emit: async () => ({}) } };
    expect(meterAccount({ apiKey: 'pk_live_abc123.secret', account: 'acme-live' })).toBe('acme-live');
    expect(meterAccount({ client })).toBe('sdk-client');
    expect(meterAccount({ client, account: 'acme-live' })).toBe('acme-live');
    expect(meterAccount({ enabled: false })).toBe('dry-run');
  });

  it('is what createMeter tells its store, with its memory bounds; a bad account is refused naming the option', () => {
    const store = new MemoryStore() as MemoryStore & { attach(meter: StoreAttachment): void };
    const attached: StoreAttachment[] = [];
    store.attach = (meter) => void attached.push(meter);
    createMeter({ apiKey: 'pk_test_abc.secret', scope: 'reports', store, maxQueueSize: 50, maxQueueBytes: 1_048_576 });
    expect(attached).toEqual([{ scope: 'reports', account: meterAccount({ apiKey: 'pk_test_abc.secret' }), maxCount: 50, maxBytes: 1_048_576 }]);
    expect(() => createMeter({ apiKey: 'pk_test_abc.secret', account: 'has space' })).toThrow(/^account: /);
  });
});
