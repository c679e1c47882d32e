import type { QueuedDelta } from '../store/store.js';
import type { DeltaFields } from './validation.js';

/**
 * The {@link QueuedDelta} the Meter's intake hands to its store. It lives until delivery (every
 * young GC copies it, then it is promoted), so it holds no second object: `fields`, read only
 * when a hook or a log reports the delta, is built from its own properties on each read.
 *
 * @example
 * const item = new AcceptedDelta(1, 'api:api_request:acme:f3b2…', 'acme', -1, 'api_request', body, 96, Date.now());
 * item.fields; // { customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'api:api_request:acme:f3b2…' }
 */
export class AcceptedDelta implements QueuedDelta {
  attempts = 0;
  dueAt = 0;

  /**
   * @param seq - order of acceptance (a store may replace it).
   * @param referenceId - the delta's referenceId.
   * @param customerId - who pays.
   * @param delta - the amount.
   * @param reason - the delta's reason.
   * @param body - the frozen JSON body.
   * @param bytes - UTF-8 size of `body`.
   * @param acceptedAt - epoch ms of acceptance.
   */
  constructor(
    public seq: number,
    public referenceId: string,
    public customerId: string,
    readonly delta: number,
    readonly reason: string,
    public body: string,
    public bytes: number,
    public acceptedAt: number,
  ) {}

  /** The frozen fields without metadata, as events report them (a new object on each read). */
  get fields(): Readonly<DeltaFields> {
    return { customerId: this.customerId, delta: this.delta, reason: this.reason, referenceId: this.referenceId };
  }
}
