// On SIGTERM/SIGINT: close the app (the module delivers what is queued), then exit 0. A second
// signal is ignored so it cannot cut that delivery short.
import type { INestApplication } from '@nestjs/common';

export function closeOnSignals(app: INestApplication): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.close().then(() => process.exit(0), (err: unknown) => {
        console.error(err);
        process.exit(1);
      });
    });
  }
}
