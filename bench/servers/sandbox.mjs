// The sandbox in its own process, as PacSpace would be: reports where it listens over IPC.
import { startSandbox } from '@pacspace-metering/sandbox';

const sandbox = await startSandbox({ maxRequestLog: 1000 });
process.on('message', (message) => {
  if (message === 'ledger') process.send({ committed: sandbox.ledger().counts.committed });
});
process.send({ url: sandbox.url, apiKey: sandbox.apiKey });
