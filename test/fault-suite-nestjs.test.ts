// Fault-injection suite, NestJS example (examples/nestjs-app): each sandbox fault alone and all of
// them together, a thousand operations of mixed traffic per run, exactly-once billing asserted
// against the ledger. The matrix is in support/example-fault-runs.ts.
import 'reflect-metadata';
import { describeFaultRuns } from './support/example-fault-runs.js';

describeFaultRuns('nestjs-app');
