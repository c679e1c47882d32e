import type { DeliveredEvent, DropEvent, ErrorContext, RetryEvent } from './events.js';
import { callHook } from './hook-guard.js';
import { silentLogger, type MeteringLogger } from './logger.js';
import type { MeterOptions } from '../options.js';

/** The hooks a Meter calls, by name. */
interface HookEvents {
  onDelivered: DeliveredEvent;
  onRetry: RetryEvent;
  onDrop: DropEvent;
}

/**
 * How the Meter's units tell the user what happened: hooks, `onError` and the logger, each
 * guarded so that user code can never break delivery nor leave a promise unhandled.
 *
 * @example
 * const events = createMeterEvents(options, resolveLogger(options.logger));
 * if (events.has('onDelivered')) events.hook('onDelivered', event);
 */
export interface MeterEvents {
  readonly logger: MeteringLogger;
  /** True when debug lines go somewhere (a logger of the user's): build their objects only then. */
  readonly logs: boolean;
  /** True when the user gave this hook: build its event only then. */
  has(name: keyof HookEvents): boolean;
  hook<K extends keyof HookEvents>(name: K, event: HookEvents[K]): void;
  error(error: Error, context: ErrorContext): void;
}

/**
 * Wraps the hooks of `options` and the (already safe) `logger`.
 *
 * @example
 * const events = createMeterEvents({ onDrop: (e) => console.warn(e.reason) }, silentLogger);
 */
export function createMeterEvents(options: MeterOptions, logger: MeteringLogger): MeterEvents {
  // Debug lines go somewhere only with a logger of the user's (the default reporter drops them).
  const logs = options.logger !== undefined && logger !== silentLogger;
  function error(err: Error, context: ErrorContext): void {
    const { onError } = options;
    if (onError) callHook((e: Error) => onError(e, context), err, 'onError', logger);
  }

  return {
    logger,
    logs,
    has: (name) => options[name] !== undefined,
    hook(name, event) {
      const hook = options[name] as ((e: typeof event) => unknown) | undefined;
      if (hook) callHook(hook, event, name, logger, (err) => error(err, { stage: 'hook' }));
    },
    error,
  };
}
