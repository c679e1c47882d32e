import type { MeteringLogger } from './metering-logger.js';

/**
 * The one hook guard (the Meter's events and the periodic meter both call user code through it).
 * Calls a user hook so that it can never break the caller: a throw, or a rejected promise it
 * returns, is logged and handed to `onError` (itself guarded). Returns nothing, leaves nothing
 * unhandled.
 *
 * @example
 * callHook(options.onWindow, report, 'onWindow', logger, options.onError);
 */
export function callHook<E>(hook: ((event: E) => unknown) | undefined, event: E, name: string, logger: MeteringLogger, onError?: (error: Error, context: { stage: 'hook'; hook: string }) => unknown): void {
  if (!hook) return;
  const failed = (err: unknown) => {
    logger.error({ err, hook: name }, `pacspace-metering: the ${name} hook threw`);
    if (!onError || name === 'onError') return;
    callHook((e: Error) => onError(e, { stage: 'hook', hook: name }), err instanceof Error ? err : new Error(String(err)), 'onError', logger);
  };
  try {
    const returned = hook(event) as unknown;
    if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(undefined, failed);
  } catch (err) {
    failed(err);
  }
}
