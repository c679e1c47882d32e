import type { FactoryProvider } from '@nestjs/common';
import { createBalanceGate, MeteringConfigError, type BalanceGate } from '@pacspace-metering/core';
import { BALANCE_GATE } from './balance.constants.js';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/**
 * @internal The module's balance gate, created once, on first use: at start-up when the module has a
 * `balance` option or a route uses `@RequireBalance()` (its guard asks for it), so a Meter nobody
 * gates never tracks usage for one. Errors name `balance` or `balance.<option>`.
 */
export function balanceGateOf(runtime: MeteringRuntime): BalanceGate {
  if (runtime.balanceGate) return runtime.balanceGate;
  if (runtime.aggregated) {
    throw new MeteringConfigError('balance', 'cannot be combined with aggregate: the aggregated sums wait in this process where the gate cannot count them; gate a module without aggregate');
  }
  try {
    runtime.balanceGate = createBalanceGate(runtime.meter, runtime.options.balance?.gate ?? {});
  } catch (err) {
    if (err instanceof MeteringConfigError) throw new MeteringConfigError(`balance.${err.option}`, err.message.slice(err.option.length + 2));
    throw err;
  }
  return runtime.balanceGate;
}

/** @internal A gate that is created when first used. */
function lazyGate(runtime: MeteringRuntime): BalanceGate {
  const gate = (): BalanceGate => balanceGateOf(runtime);
  return {
    check: (customerId, price) => gate().check(customerId, price),
    stats: () => gate().stats(),
    get scope() {
      return runtime.meter.scope;
    },
    close: () => runtime.balanceGate?.close(),
    get whenUnavailable() {
      return gate().whenUnavailable;
    },
    get logger() {
      return gate().logger;
    },
  };
}

/** @internal `@InjectBalanceGate()`: the gate, created at start-up when the module has a `balance` option, else on first use. */
export const balanceGateProvider: FactoryProvider<BalanceGate> = {
  provide: BALANCE_GATE,
  useFactory: (runtime: MeteringRuntime) => (runtime.options.balance ? balanceGateOf(runtime) : lazyGate(runtime)),
  inject: [METERING_RUNTIME],
};
