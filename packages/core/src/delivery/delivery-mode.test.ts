import { DeliveryModeSwitch } from './delivery-mode.js';

describe('DeliveryModeSwitch', () => {
  it('delivers one by one after PacSpace says the batch endpoint is gone, and probes batches again, waiting longer each time it is still gone', () => {
    const modes = new DeliveryModeSwitch('batch', 1_000);
    expect(modes.modeAt(0)).toBe('batch');
    expect(modes.noBatchEndpoint(0)).toBe(1_000);
    expect(modes.noBatchEndpoint(10)).toBeUndefined(); // already single: other batches in flight said it too
    expect(modes.modeAt(999)).toBe('single');
    expect(modes.modeAt(1_000)).toBe('batch');
    expect(modes.noBatchEndpoint(1_000)).toBe(2_000);
    expect(modes.modeAt(2_999)).toBe('single');
    expect(modes.modeAt(3_000)).toBe('batch');
    expect(modes.noBatchEndpoint(3_000)).toBe(4_000);
    modes.modeAt(7_000);
    modes.batchAnswered();
    expect(modes.noBatchEndpoint(8_000)).toBe(1_000);
  });

  it('waits at most an hour between probes, or retryMaxDelayMs when that is longer', () => {
    const modes = new DeliveryModeSwitch('batch', 60_000);
    let at = 0;
    let delay = 0;
    for (let i = 0; i < 12; i++) {
      delay = modes.noBatchEndpoint(at)!;
      at += delay;
      modes.modeAt(at);
    }
    expect(delay).toBe(3_600_000);
    const slow = new DeliveryModeSwitch('batch', 7_200_000);
    slow.noBatchEndpoint(0);
    slow.modeAt(7_200_000);
    expect(slow.noBatchEndpoint(7_200_000)).toBe(7_200_000);
  });

  it('keeps a Meter configured for single delivery single', () => {
    const modes = new DeliveryModeSwitch('single', 1_000);
    expect(modes.noBatchEndpoint(0)).toBeUndefined();
    expect(modes.modeAt(1_000_000)).toBe('single');
  });
});
