import { MeteringConfigError } from '../../errors.js';
import type { Meter } from '../../meter-api.js';
import { assertKnownOptions } from '../../options.js';
import { randomHex } from '../../random-hex.js';
import { parseInterval, type IntervalSpec } from '../interval.js';

/**
 * Options of {@link createAggregatingMeter}.
 *
 * @example
 * createAggregatingMeter(meter, { interval: '5m', instanceId: 'web-1', maxOpenAggregates: 50_000 });
 */
export interface AggregatingMeterOptions {
  /** Window length: `'1m'`, `'5m'`, `'1h'`, ... or milliseconds; must be whole seconds dividing 24 h. Default: `'1m'`. */
  interval?: IntervalSpec | undefined;
  /** Same as `interval`, in milliseconds (give one of the two). */
  windowMs?: number | undefined;
  /** A readable label for this instance in referenceIds (e.g. the pod name), 1-16 characters of `[A-Za-z0-9_-]`. A random part is always added. Default: none. */
  instanceId?: string | undefined;
  /** Open (customer, reason) sums held at most; when reached, all are sent early (as parts). Default: 10000. */
  maxOpenAggregates?: number | undefined;
  /** Close the underlying meter in `close()`. Set false when other code shares the meter and closes it. Default: true. */
  closeMeter?: boolean | undefined;
  /** Clock, for tests. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * The checked configuration of an aggregating meter.
 *
 * @example
 * const { windowMs, instanceId }: AggregatingConfig = resolveAggregatingConfig(meter, { interval: '1m' });
 */
export interface AggregatingConfig {
  windowMs: number;
  /** The label (if any) plus 48 random bits, unique per aggregator start. */
  instanceId: string;
  maxOpen: number;
  closeMeter: boolean;
  now: () => number;
}

const LABEL = /^[A-Za-z0-9_-]{1,16}$/;
const OPTION_NAMES = ['interval', 'windowMs', 'instanceId', 'maxOpenAggregates', 'closeMeter', 'now'];

/**
 * Checks the meter and the options, applies defaults; throws {@link MeteringConfigError} naming the bad one.
 *
 * @example
 * resolveAggregatingConfig(meter, { interval: '7m' }); // throws MeteringConfigError { option: 'interval' }
 */
export function resolveAggregatingConfig(meter: Meter, options: AggregatingMeterOptions): AggregatingConfig {
  if (meter === null || typeof meter !== 'object' || typeof meter.enqueue !== 'function' || typeof meter.flush !== 'function' || typeof meter.close !== 'function' || typeof meter.scope !== 'string') {
    throw new MeteringConfigError('meter', 'must be a Meter from createMeter() (with scope, enqueue, flush and close)');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object');
  assertKnownOptions(options, OPTION_NAMES, '');
  if (options.interval !== undefined && options.windowMs !== undefined) throw new MeteringConfigError('windowMs', 'give interval or windowMs, not both');
  const windowMs = options.windowMs !== undefined ? parseInterval(options.windowMs, 'windowMs') : parseInterval(options.interval ?? '1m', 'interval');
  if (options.instanceId !== undefined && (typeof options.instanceId !== 'string' || !LABEL.test(options.instanceId))) {
    throw new MeteringConfigError('instanceId', `must be 1-16 characters of letters, digits, '_', '-' (got ${JSON.stringify(options.instanceId)})`);
  }
  const maxOpen = options.maxOpenAggregates ?? 10_000;
  if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new MeteringConfigError('maxOpenAggregates', `must be a positive integer (got ${JSON.stringify(options.maxOpenAggregates)})`);
  if (options.closeMeter !== undefined && typeof options.closeMeter !== 'boolean') throw new MeteringConfigError('closeMeter', 'must be a boolean');
  if (options.now !== undefined && typeof options.now !== 'function') throw new MeteringConfigError('now', 'must be a function returning epoch milliseconds');
  const random = randomHex(6);
  return {
    windowMs,
    instanceId: options.instanceId === undefined ? random : `${options.instanceId}-${random}`,
    maxOpen,
    closeMeter: options.closeMeter ?? true,
    now: options.now ?? Date.now,
  };
}
