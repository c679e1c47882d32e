// The sandbox in its own process, as PacSpace would be: reports where it listens over IPC, and
// answers `{ faults }` (replace the faults), `'reset'` and `'ledger'` (committed deltas, requests,
// referenceIds committed more than once, the sum of every committed delta).
import { duplicateReferenceIds, startSandbox, sumByCustomer } from '@pacspace-metering/sandbox';

const sandbox = await startSandbox({ maxRequestLog: 1000 });
process.on('message', (message) => {
  if (message === 'ledger') {
    const ledger = sandbox.ledger();
    const amount = Object.values(sumByCustomer(ledger)).reduce((a, b) => a + b, 0);
    process.send({ committed: ledger.counts.committed, requests: ledger.counts.requests, duplicates: duplicateReferenceIds(ledger).length, amount });
  } else if (message === 'reset') {
    sandbox.reset();
    process.send({ reset: true });
  } else if (message?.faults) {
    sandbox.setFaults(message.faults);
    process.send({ faults: true });
  }
});
process.send({ url: sandbox.url, apiKey: sandbox.apiKey });
