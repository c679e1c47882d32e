/**
 * @internal The id each call is billed under, for `@BillingRequestId()`: keyed by the raw HTTP
 * response, or by a message's payload object. Written only for handlers that ask for it (see
 * `exposesRequestId`), so other routes pay nothing; a WeakMap, so an entry lives as long as its call.
 */
export const billedRequestIds = new WeakMap<object, string>();

/** @internal Metadata key `@BillingRequestId()` writes on its handler, so the metering guard records the id. */
export const EXPOSES_REQUEST_ID = 'pacspace-metering:exposes-request-id';
