/** Injection tokens of the example. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** Extra Meter hooks (tests listen to the Meter through them). */
export const METER_HOOKS = Symbol('METER_HOOKS');
