import { createDefaultReporter } from './default-reporter.js';
import type { MeteringLogger } from './metering-logger.js';
export type { MeteringLogger } from './metering-logger.js';

const noop = (): void => undefined;

/**
 * A logger that says nothing: pass `logger: silentLogger` to turn the default reporting off.
 *
 * @example
 * createMeter({ apiKey, logger: silentLogger, onDrop: (event) => myAlerts.send(event) });
 */
export const silentLogger: MeteringLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/**
 * The logger a Meter (or periodic meter) uses: the user's, made safe, or when none is given the
 * default reporter, which writes losses and failures to the process's output (see
 * {@link createDefaultReporter}).
 *
 * @example
 * const logger = resolveLogger(options.logger);
 */
export function resolveLogger(logger: MeteringLogger | undefined): MeteringLogger {
  return logger === undefined ? createDefaultReporter() : safeLogger(logger);
}

/** Wraps a user logger so that a throwing logger can never break delivery. */
export function safeLogger(logger: MeteringLogger | undefined): MeteringLogger {
  if (!logger || logger === silentLogger) return silentLogger;
  const wrap = (level: keyof MeteringLogger) => (obj: object, msg?: string) => {
    try {
      logger[level](obj, msg);
    } catch {
      // A broken logger must not take billing down with it.
    }
  };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
