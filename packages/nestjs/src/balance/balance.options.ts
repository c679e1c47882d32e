import { BALANCE_GATE_OPTION_NAMES, MeteringConfigError, assertKnownOptions, type BalanceGateOptions } from '@pacspace-metering/core';
import { describeValue } from '../module/metering.messages.js';
import type { MeteringBalanceOptions, PriceResolver, ProblemShaper } from './balance-options.interface.js';
import type { CustomerIdResolver } from '../module/metering-options.interface.js';

/** @internal The module's `balance` option, split and checked. */
export interface ResolvedBalanceOptions {
  gate: BalanceGateOptions;
  price: number | PriceResolver | undefined;
  customerId: CustomerIdResolver | undefined;
  problem: ProblemShaper | undefined;
}


/**
 * @internal Checks the module's `balance` option (`true` for every default); throws
 * {@link MeteringConfigError} naming `balance.<field>`. The gate's own options are checked again
 * when the gate is created, with the same names.
 */
export function checkBalanceOptions(value: unknown): ResolvedBalanceOptions | undefined {
  if (value === undefined) return undefined;
  if (value === true) return { gate: {}, price: undefined, customerId: undefined, problem: undefined };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MeteringConfigError('balance', `must be true or an object of balance gate options and price, customerId, problem (got ${describeValue(value)})`);
  }
  const { price, customerId, problem, ...gate } = value as MeteringBalanceOptions;
  assertKnownOptions(gate, BALANCE_GATE_OPTION_NAMES, 'balance.');
  checkPrice(price, 'balance.price');
  for (const [name, fn] of [['customerId', customerId], ['problem', problem]] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw new MeteringConfigError(`balance.${name}`, 'must be a function');
  }
  return { gate, price, customerId, problem };
}

/** @internal A price: undefined, a number ≥ 0, or a function. */
export function checkPrice(value: unknown, field: string): void {
  if (value === undefined || typeof value === 'function') return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new MeteringConfigError(field, `must be a finite number of at least 0, or (req, context) => number (got ${describeValue(value)})`);
  }
}
