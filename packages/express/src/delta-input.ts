import { claimKey, DeltaValidationError, NOTHING_TO_BILL, skipped, thenableError, type DeltaInput, type Meter } from '@pacspace-metering/core';
import type { Request, Response } from 'express';
import { routePattern } from './route-pattern.js';

/**
 * The delta's metadata: the library's `route` (pattern, or absent when no route matched) and
 * `method`, with the caller's own fields merged over them. Anything that is not a plain object
 * (or nothing) is passed through unchanged, so the meter refuses it naming `metadata`.
 */
export function mergeMetadata(req: Request, extra: unknown): unknown {
  const route = routePattern(req);
  if (extra === undefined || extra === null) return route === undefined ? { method: req.method } : { route, method: req.method };
  if (typeof extra !== 'object') return extra;
  const proto = Object.getPrototypeOf(extra) as unknown;
  if (proto !== Object.prototype && proto !== null) return extra;
  return route === undefined ? { method: req.method, ...extra } : { route, method: req.method, ...extra };
}

/**
 * The delta to hand to the meter, billed under `requestId` (the Meter builds the referenceId
 * `{scope}:{reason}:{customerId}:{requestId}` from it), and the key it is claimed under for this
 * request ({@link claimKey}), when `customerId` and `reason` are strings; otherwise no key and the
 * meter refuses the fields.
 */
export function deltaInput(meter: Meter, customerId: unknown, delta: unknown, reason: unknown, requestId: string, metadata: unknown): { input: DeltaInput; claim: string | undefined } {
  const input = { customerId, delta, reason, requestId, metadata } as DeltaInput;
  return { input, claim: typeof customerId === 'string' && typeof reason === 'string' ? claimKey(meter.scope, reason, customerId) : undefined };
}

/**
 * Reports a failure the caller cannot turn into a delta (a hostile metadata value): the meter
 * refuses it as `invalid`, naming `option`, counts it in `stats().dropped.invalid` and hands it to
 * `onDrop` and `onError`. Never throws.
 */
export function reportUndecidable(meter: Meter, option: string, cause: unknown): void {
  meter.refuse(new DeltaValidationError(option, `the ${option} option threw: ${messageOf(cause)}`, { cause }));
}

/**
 * The answer of a yes/no option (`skip`, `isSuccess`), or `undefined` when it threw or returned a
 * Promise: then the meter refuses it as `invalid`, naming the option (counted, `onDrop`, `onError`).
 */
export function decide(meter: Meter, option: string, fn: (req: Request, res: Response) => unknown, req: Request, res: Response): boolean | undefined {
  const answer = resolveField(option, fn, req, res);
  if (!(answer instanceof ResolverError)) return !!answer;
  meter.refuse(refusalOf(answer));
  return undefined;
}

/**
 * `meter.enqueue(input)`, or, when a resolver threw or returned a Promise, `meter.refuse()` with a
 * validation error that names the resolver's option and carries what it threw: counted and
 * reported the same way. `idFailure`: the request's `requestId` resolver failed, so the delta is
 * refused with that error rather than billed under an id nobody chose.
 */
export function enqueueSafely(meter: Meter, input: DeltaInput, idFailure?: DeltaValidationError): Promise<boolean> | undefined {
  const failed = resolverFailureIn(input);
  if (failed !== undefined) {
    meter.refuse(refusalOf(failed), input);
    return undefined;
  }
  if (idFailure !== undefined) {
    meter.refuse(idFailure, input);
    return undefined;
  }
  // A resolver said there is nothing to bill: counted apart from drops (a delta of 0 the meter skips itself).
  if (input.customerId === (NOTHING_TO_BILL as unknown) || input.delta === (NOTHING_TO_BILL as unknown)) {
    skipped(meter, 'nothing_to_bill', input);
    return undefined;
  }
  const result = meter.enqueue(input);
  // A store that writes behind says when the delta is durable; the response waits for it.
  return result.accepted ? result.committed : undefined;
}

/** The first field a resolver failed to give (checked one by one: no array per request). */
function resolverFailureIn(input: DeltaInput): ResolverError | undefined {
  const fields = input as unknown as Record<string, unknown>;
  if (fields.customerId instanceof ResolverError) return fields.customerId;
  if (fields.delta instanceof ResolverError) return fields.delta;
  if (fields.reason instanceof ResolverError) return fields.reason;
  return fields.metadata instanceof ResolverError ? fields.metadata : undefined;
}

function refusalOf(failed: ResolverError): DeltaValidationError {
  return new DeltaValidationError(failed.option, failed.message, { cause: failed.cause });
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Stands in for the value of a resolver that threw or returned a Promise, so a thrown string can
 * never pass for a customer id. The middleware refuses such a delta through `meter.refuse()` with
 * a `DeltaValidationError` whose `field` names the resolver's option and whose `cause` is what it
 * threw.
 *
 * @example
 * createMeter({
 *   onError: (err) => {
 *     if (err instanceof DeltaValidationError && /resolver (threw|returned a Promise)/.test(err.message)) alertResolverBug(err.field);
 *   },
 * });
 */
export class ResolverError extends Error {
  /** The option whose resolver threw, e.g. `customerId`. */
  readonly option: string;

  /**
   * @param option - the resolver's option, e.g. `customerId`.
   * @param cause - what it threw.
   * @param message - default: `the {option} resolver threw: {cause's message}`.
   */
  constructor(option: string, cause: unknown, message = `the ${option} resolver threw: ${messageOf(cause)}`) {
    super(message, { cause });
    this.name = 'ResolverError';
    this.option = option;
  }
}

/**
 * Calls a resolver (with the handler's result, when the resolver takes it); a throw, or a Promise returned (whose rejection is then handled), becomes a
 * {@link ResolverError} value, refused by the meter.
 */
export function resolveField(option: string, fn: (req: Request, res: Response, result?: unknown) => unknown, req: Request, res: Response, result?: unknown): unknown {
  let value: unknown;
  try {
    value = fn(req, res, result);
  } catch (err) {
    return new ResolverError(option, err);
  }
  const refused = thenableError(value, option);
  // "customerId: the customerId resolver returned a Promise; ..." -> without the field prefix, which the refusal adds again.
  return refused === undefined ? value : new ResolverError(option, refused.cause, refused.message.slice(option.length + 2));
}
