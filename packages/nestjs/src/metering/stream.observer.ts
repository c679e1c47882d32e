import { Transform } from 'node:stream';
import { StreamableFile, type CallHandler } from '@nestjs/common';
import { isObservable, map, tap, type Observable } from 'rxjs';
import type { StreamCounter } from './metering.call.js';

/**
 * @internal Observes a stream route's handler: opens the count once every guard passed, then
 * counts each event an `@Sse()` Observable emits, or each chunk of a `StreamableFile` the handler
 * returns (through a counting pass-through, so nothing is read before Nest pipes it). An error
 * before anything was sent bills nothing. The response's `close` bills (see the HTTP adapter).
 */
export function observeStream(counter: StreamCounter, next: CallHandler): Observable<unknown> {
  if (!counter.open()) return next.handle();
  return next.handle().pipe(
    map((value) => (value instanceof StreamableFile ? countedFile(value, counter) : value)),
    tap({
      next: (value) => {
        if (!(value instanceof StreamableFile) && !isObservable(value)) counter.count(value, false);
      },
      error: () => counter.fail(),
    }),
  );
}

/** The same file, read through a pass-through that counts each chunk as Nest writes it out. */
function countedFile(file: StreamableFile, counter: StreamCounter): StreamableFile {
  const source = file.getStream();
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.count(chunk, true);
      done(null, chunk);
    },
  });
  source.once('error', (err) => {
    counter.fail();
    counting.destroy(err);
  });
  const { type, disposition, length } = file.getHeaders();
  return new StreamableFile(source.pipe(counting), { type, disposition: disposition ?? undefined, length });
}
