/**
 * @pacspace-metering/sandbox: a local PacSpace-compatible Balance API server with idempotency,
 * fault injection and an inspectable ledger.
 *
 * @example
 * import { startSandbox, duplicateReferenceIds } from '@pacspace-metering/sandbox';
 * const sandbox = await startSandbox();
 * // ... point the metering client at sandbox.url with sandbox.apiKey ...
 * expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
 * await sandbox.close();
 */
export { startSandbox, type Sandbox } from './server.js';
export type { SandboxOptions } from './options.js';
export type {
  BatchRejectionFault,
  CadenceLimitFault,
  FaultConfig,
  FaultTrigger,
  ItemFailuresFault,
  LatencySpec,
  RateLimitFault,
  ServerErrorFault,
  VerificationFailureFault,
} from './faults.js';
export type { DeltaStatus, VerificationPace } from './verification.js';
export type { DeriveFault } from './read-faults.js';
export type { TopUp } from './top-up.js';
export type { CustomerBalance, Overview } from './overview.js';
export { validateFaults } from './fault-validation.js';
export { SandboxConfigError } from './config-error.js';
export {
  duplicateReferenceIds,
  sumByCustomer,
  type AdjustedDelta,
  type BatchItems,
  type CheckpointRecord,
  type LedgerCounts,
  type LedgerDelta,
  type LedgerSnapshot,
  type Outcome,
  type RequestRecord,
} from './ledger.js';
export { seededRandom } from './random.js';
export type { Random } from './random.js';
