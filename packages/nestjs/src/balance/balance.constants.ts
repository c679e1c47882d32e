/**
 * Injection token of the module's balance gate (`createBalanceGate` over the module's Meter, with
 * the module's `balance` options). Prefer {@link InjectBalanceGate}.
 *
 * @example
 * const gate = app.get<BalanceGate>(BALANCE_GATE);
 * @publicApi
 */
export const BALANCE_GATE = 'PACSPACE_METERING_BALANCE_GATE';

/**
 * Metadata key written by {@link RequireBalance} on a handler or a controller class.
 *
 * @example
 * reflector.get(REQUIRE_BALANCE_METADATA, handler); // -> { price: 5 }
 * @publicApi
 */
export const REQUIRE_BALANCE_METADATA = 'pacspace-metering:require-balance';

/**
 * Metadata key written by {@link SkipBalanceCheck}.
 *
 * @example
 * reflector.get(SKIP_BALANCE_METADATA, handler); // -> true
 * @publicApi
 */
export const SKIP_BALANCE_METADATA = 'pacspace-metering:skip-balance';

/**
 * Default price of a gated call (the `price` option): one unit, what `@Metered()` bills by default.
 *
 * @example
 * @RequireBalance(10 * DEFAULT_PRICE)
 * @publicApi
 */
export const DEFAULT_PRICE = 1;
