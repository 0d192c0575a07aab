import { COARSE_CLOCK_RESOLUTION_MS, systemClock } from '../../src/core/clock';

describe('systemClock', () => {
  afterEach(() => jest.useRealTimers());

  it('reuses its coarse reading until its resolution has passed, then reads the time again', () => {
    jest.useFakeTimers({ now: 5_000 });
    const coarseNow = () => (systemClock.coarseNow as () => number)();

    expect(coarseNow()).toBe(5_000);
    jest.setSystemTime(5_000 + COARSE_CLOCK_RESOLUTION_MS - 1);
    expect(systemClock.now()).toBe(5_000 + COARSE_CLOCK_RESOLUTION_MS - 1);
    expect(coarseNow()).toBe(5_000);

    jest.advanceTimersByTime(COARSE_CLOCK_RESOLUTION_MS);
    const later = 5_000 + 2 * COARSE_CLOCK_RESOLUTION_MS - 1;
    expect(Date.now()).toBe(later);
    expect(coarseNow()).toBe(later);
  });
});
