import type { DeadlineQueue } from './deadline-queue.js';
import { PacSpaceApiError } from '../errors.js';

/**
 * The one deadline helper: resolves or rejects like `call()` (a synchronous throw included), or
 * rejects with a `TIMEOUT` {@link PacSpaceApiError} naming `requestPath` after `ms`. For calls
 * whose own timeouts we cannot see (an SDK-shaped client's; the built-in client keeps one per
 * socket). With `deadlines` (a {@link DeadlineQueue} of the same `ms`), one timer serves every
 * call under way, and stays ref'd while one is (a Meter's deliveries); without, each call gets an
 * unref'd timer (the request itself keeps the process alive while it is in flight).
 *
 * @example
 * await withDeadline(() => client.balance.emitBatch(items, { idempotencyKey }), 30_000, '/api/v1/balance/delta/batch');
 */
export function withDeadline<T>(call: () => Promise<T> | T, ms: number, requestPath: string, deadlines?: DeadlineQueue): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const expire = () => reject(new PacSpaceApiError(`PacSpace did not answer within ${ms} ms`, { status: 0, code: 'TIMEOUT', requestPath }));
    let cancel: () => void;
    if (deadlines) {
      const deadline = deadlines.add(expire);
      cancel = () => deadline.cancel();
    } else {
      const timer = setTimeout(expire, ms);
      timer.unref?.();
      cancel = () => clearTimeout(timer);
    }
    let sent: Promise<T>;
    try {
      sent = Promise.resolve(call());
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}
