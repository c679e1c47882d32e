/**
 * A small seeded PRNG (the mulberry32 construction), so every fault decision in a run can be
 * reproduced from its seed. Not for anything security-related.
 */
export type Random = () => number;

/**
 * Returns a generator of floats in [0, 1) determined entirely by `seed`.
 *
 * @example
 * const next = seededRandom(1);
 * next(); // always the same first value for seed 1
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
