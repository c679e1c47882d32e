import { DeltaValidationError } from '../errors.js';
import type { DeliveryReceipt, EnqueueResult, Meter, SkipAnswer } from '../meter-api.js';
import { NOTHING_TO_BILL, skipCauseOf, type NothingToBill } from '../intake/nothing-to-bill.js';
import { skipped, usageInputs, type UsageDelta } from './usage-deltas.js';

/**
 * Options of {@link meterOperation}: who pays, the operation's stable id, and what the result
 * costs. `TResult` is the work's result, so a misspelled field in `delta` does not compile.
 *
 * @example
 * const options: OperationOptions<{ pages: number }> = { operationId: job.id, customerId: 'acme', reason: 'pages_rendered', delta: (r) => -r.pages };
 */
export interface OperationOptions<TResult> {
  /**
   * The operation's stable id (a job id, a message id, a tool call id): its deltas' referenceIds
   * are `{scope}:{reason}:{customerId}:{operationId}`, so a retried job bills once. Required.
   */
  operationId: string;
  /** Who pays. */
  customerId: string;
  /** The reason of the single delta (with `delta`). Default: `'operation'`. */
  reason?: string | undefined;
  /** The amount from the result (negative consumes; 0 or `NOTHING_TO_BILL`: nothing). Default: -1. */
  delta?: number | ((result: TResult) => number | NothingToBill) | undefined;
  /** Several deltas from the result, each under its own reason (instead of `reason`/`delta`). */
  deltas?: ((result: TResult) => readonly UsageDelta[] | NothingToBill) | undefined;
  /** Metadata of each delta; `operationId` and `latencyMs` (the work's duration) are added. */
  metadata?: Record<string, unknown> | undefined;
  /**
   * `true` (default): `emit`, and the returned promise resolves once PacSpace has every delta
   * (rejects with the delivery's typed error: retry the operation, it bills once). `false`:
   * `enqueue`, fire-and-forget (delivered in the background, with the meter's retries).
   */
  confirm?: boolean | undefined;
}

/**
 * What {@link meterOperation} resolves to: the work's result and what billing answered, per delta.
 *
 * @example
 * const { result, billed } = await meterOperation(meter, options, work);
 */
export interface OperationOutcome<TResult> {
  result: TResult;
  /** One answer per delta: receipts when confirmed, enqueue answers otherwise; a skip when nothing was billed. */
  billed: Array<DeliveryReceipt | EnqueueResult | SkipAnswer>;
}

/** Operation ids billed by this process, per meter, so a job re-run after its success does not bill (nor conflict) again. */
const billedOperations = new WeakMap<Meter, Map<string, true>>();
const MAX_REMEMBERED = 10_000;

/**
 * Runs work outside HTTP (a queue job, an agent's tool call) and bills it only if it succeeds: one
 * delta per reason, under referenceIds built from the required `operationId`, so however many
 * times a job is retried it bills once (PacSpace keeps the first delivery of an id; a re-run this
 * process already billed is not sent again: counted in `stats().skipped.already_billed`). The
 * delta comes from the result; `metadata.latencyMs` says how long the work took. A work that throws
 * or rejects bills nothing and its error is rethrown unchanged.
 *
 * Validation happens before the work runs: a missing `operationId` or `customerId` throws a
 * {@link DeltaValidationError} naming the field, and the work does not run.
 *
 * Note: a re-run in another process whose delta or metadata differ (latency always does) is answered
 * `IDEMPOTENCY_CONFLICT` by PacSpace: the first billing stands, the conflict is reported.
 *
 * @example
 * const { result } = await meterOperation(
 *   meter,
 *   { operationId: job.id, customerId: job.data.accountId, reason: 'pages_rendered', delta: (r) => -r.pages },
 *   () => renderPdf(job.data),
 * );
 */
export async function meterOperation<TResult>(meter: Meter, options: OperationOptions<TResult>, work: () => TResult | Promise<TResult>): Promise<OperationOutcome<TResult>> {
  assertOperation(options, work);
  const started = performance.now();
  const result = await work();
  const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
  let inputs: ReturnType<typeof usageInputs>;
  try {
    inputs = operationInputs(options, result, latencyMs);
  } catch (err) {
    // A resolver that threw (or a bad list): refused, counted and reported, then thrown to the caller.
    const error = err instanceof DeltaValidationError ? err : new DeltaValidationError(options.deltas ? 'deltas' : 'delta', `the resolver threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    meter.refuse(error, { customerId: options.customerId, requestId: options.operationId });
    throw error;
  }
  const billed: OperationOutcome<TResult>['billed'] = [];
  for (const { input, skip } of inputs) billed.push(skip === undefined ? await billOnce(meter, input, options.confirm !== false) : skip === 'zero_delta' ? meter.enqueue(input) : skipped(meter, skip, input));
  return { result, billed };
}

/** Bills one delta of an operation unless this process already billed (or is billing) its id. */
async function billOnce(meter: Meter, input: Parameters<Meter['emit']>[0], confirm: boolean): Promise<DeliveryReceipt | EnqueueResult | SkipAnswer> {
  const remembered = rememberedFor(meter);
  const key = `${input.reason}\u0000${input.customerId}\u0000${input.requestId}`;
  if (remembered.has(key)) return skipped(meter, 'already_billed', input);
  remember(remembered, key);
  try {
    const answer = confirm ? await meter.emit(input) : meter.enqueue(input);
    if ('accepted' in answer && !answer.accepted) remembered.delete(key);
    return answer;
  } catch (err) {
    remembered.delete(key); // not billed: a retry must try again
    throw err;
  }
}

function assertOperation<TResult>(options: OperationOptions<TResult>, work: unknown): void {
  if (options === null || typeof options !== 'object') throw new DeltaValidationError('options', 'must be an object { operationId, customerId, ... }');
  if (typeof options.operationId !== 'string' || options.operationId.length === 0) {
    throw new DeltaValidationError('operationId', 'is required: the stable id of the operation (a job id, a message id), so a retry bills once');
  }
  if (typeof options.customerId !== 'string' || options.customerId.length === 0) throw new DeltaValidationError('customerId', 'is required: who pays');
  if (typeof work !== 'function') throw new DeltaValidationError('work', 'must be a function that runs the operation');
  if (options.deltas !== undefined && (options.delta !== undefined || options.reason !== undefined)) {
    throw new DeltaValidationError('deltas', 'cannot be combined with delta/reason: give either one delta or a list');
  }
}

/** The deltas of a finished operation as meter inputs. Throws the validation error of a bad list. */
function operationInputs<TResult>(options: OperationOptions<TResult>, result: TResult, latencyMs: number): ReturnType<typeof usageInputs> {
  const metadata = { ...options.metadata, operationId: options.operationId, latencyMs };
  const call = { customerId: options.customerId, requestId: options.operationId, metadata };
  if (options.deltas !== undefined) return usageInputs({ ...call, deltas: options.deltas(result) });
  const amount = typeof options.delta === 'function' ? options.delta(result) : (options.delta ?? -1);
  if (skipCauseOf(amount) === 'nothing_to_bill') return usageInputs({ ...call, deltas: [{ reason: options.reason ?? 'operation', delta: NOTHING_TO_BILL }] });
  return usageInputs({ ...call, deltas: [{ reason: options.reason ?? 'operation', delta: amount }] });
}

function rememberedFor(meter: Meter): Map<string, true> {
  let remembered = billedOperations.get(meter);
  if (remembered === undefined) billedOperations.set(meter, (remembered = new Map()));
  return remembered;
}

function remember(remembered: Map<string, true>, key: string): void {
  remembered.set(key, true);
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
}
