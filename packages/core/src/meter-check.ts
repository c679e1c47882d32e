import type { Meter } from './meter-api.js';

/**
 * True when `value` has the shape of a {@link Meter} (from `createMeter`, `createAggregatingMeter`,
 * or a test double): `enqueue`, `flush` and `close` functions and a string `scope`. The one check
 * the framework packages use when they are handed a Meter instead of creating one.
 *
 * @example
 * if (!isMeter(options.meter)) throw new MeteringConfigError('meter', 'must be a Meter from createMeter()');
 */
export function isMeter(value: unknown): value is Meter {
  const meter = value as Partial<Meter> | null;
  return (
    meter !== null &&
    typeof meter === 'object' &&
    typeof meter.enqueue === 'function' &&
    typeof meter.flush === 'function' &&
    typeof meter.close === 'function' &&
    typeof meter.scope === 'string'
  );
}
