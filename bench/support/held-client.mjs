/**
 * An SDK-shaped client that holds every answer until `release()`: no delivery work while timing
 * what the Meter and its store do on the request path. Answers QUEUED once released.
 *
 * @example
 * const client = heldClient();
 * const meter = createMeter({ client });
 * // ... time meter.enqueue() ...
 * client.release();
 */
export function heldClient() {
  const held = [];
  let holding = true;
  const answer = { status: 'QUEUED', recordId: 'rec_bench' };
  return {
    balance: { emit: () => (holding ? new Promise((resolve) => held.push(() => resolve(answer))) : Promise.resolve(answer)) },
    release() {
      holding = false;
      for (const resolve of held.splice(0)) resolve();
    },
  };
}
