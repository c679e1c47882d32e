/** A pino-compatible logger: `logger.warn({ referenceId }, 'message')`. Pino, bunyan-style and console-like loggers fit. */
export interface MeteringLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** The default logger: says nothing. */
export const silentLogger: MeteringLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Wraps a user logger so that a throwing logger can never break delivery. */
export function safeLogger(logger: MeteringLogger | undefined): MeteringLogger {
  if (!logger) return silentLogger;
  const wrap = (level: keyof MeteringLogger) => (obj: object, msg?: string) => {
    try {
      logger[level](obj, msg);
    } catch {
      // A broken logger must not take billing down with it.
    }
  };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
