import { TimeWindow } from '../../src/core/time-window';
import { T0, breakerOn, fail, fakeClock } from './breaker-test-kit';

const failureAt = (w: TimeWindow, now: number, weight = 1) => w.record(now, true, weight, false);
const failuresAt = (w: TimeWindow, now: number) => w.totals(now).failures;

describe('TimeWindow', () => {
  // width = ms / clamp(ceil(ms / 1000), 10, 60); T0 is a multiple of each width below.
  describe.each([
    { ms: 60_000, width: 1_000 },
    { ms: 5_000, width: 500 },
    { ms: 120_000, width: 2_000 },
    { ms: 30_000, width: 1_000 },
  ])('of $ms ms (buckets of $width ms)', ({ ms, width }) => {
    it('keeps a failure recorded at the start of a bucket until exactly `ms` later', () => {
      const window = new TimeWindow(ms);
      failureAt(window, T0);

      expect(failuresAt(window, T0 + ms - 1)).toBe(1);
      expect(failuresAt(window, T0 + ms)).toBe(0);
    });

    it('drops a failure recorded at the end of a bucket `ms - width` later', () => {
      const window = new TimeWindow(ms);
      const recordedAt = T0 + width - 1;
      failureAt(window, recordedAt);

      expect(failuresAt(window, recordedAt + ms - width)).toBe(1);
      expect(failuresAt(window, recordedAt + ms - width + 1)).toBe(0);
    });
  });

  it('uses 10 buckets for windows under 10 s', () => {
    const window = new TimeWindow(1_000);
    failureAt(window, T0 + 99);

    expect(failuresAt(window, T0 + 99 + 900)).toBe(1);
    expect(failuresAt(window, T0 + 1_000)).toBe(0);
  });

  it('sums calls, failed calls, weighted failures and slow successes across buckets', () => {
    const window = new TimeWindow(10_000);
    window.record(T0, true, 0.5, false);
    window.record(T0 + 3_000, false, 0, true);
    window.record(T0 + 6_000, true, 1, false);
    window.record(T0 + 9_999, false, 0, false);

    expect(window.totals(T0 + 9_999)).toEqual({ calls: 4, failedCalls: 2, failures: 1.5, slow: 1 });
    expect(window.totals(T0 + 10_000)).toEqual({ calls: 3, failedCalls: 1, failures: 1, slow: 1 });
    expect(window.totals(T0 + 13_000)).toEqual({ calls: 2, failedCalls: 1, failures: 1, slow: 0 });
  });

  it('empties entirely after an idle period longer than the window', () => {
    const window = new TimeWindow(10_000);
    for (let i = 0; i < 10; i++) failureAt(window, T0 + i * 1_000, 0.1);

    expect(window.totals(T0 + 1_000_000)).toEqual({ calls: 0, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('reads exactly zero once every weighted failure left, despite float drift', () => {
    const window = new TimeWindow(10_000);
    for (let i = 0; i < 10; i++) failureAt(window, T0 + i * 1_000, 0.1);

    expect(window.totals(T0 + 19_000).failures).toBe(0);
  });

  it('reads exactly zero weighted failures once the last failure left, while successes remain', () => {
    const window = new TimeWindow(10_000);
    failureAt(window, T0, 0.1);
    failureAt(window, T0 + 1_000, 0.2);
    window.record(T0 + 5_000, false, 0, false);

    expect(window.totals(T0 + 11_000)).toEqual({ calls: 1, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('records into the newest bucket when the clock steps back', () => {
    const window = new TimeWindow(10_000);
    failureAt(window, T0 + 5_000);

    failureAt(window, T0);

    expect(failuresAt(window, T0 + 5_000)).toBe(2);
    expect(failuresAt(window, T0 + 15_000)).toBe(0);
  });

  it('starts afresh on reset', () => {
    const window = new TimeWindow(10_000);
    failureAt(window, T0);

    window.reset();

    expect(window.totals(T0)).toEqual({ calls: 0, failedCalls: 0, failures: 0, slow: 0 });
    failureAt(window, T0 + 1);
    expect(failuresAt(window, T0 + 1)).toBe(1);
  });

  it('exports its buckets and imports only those still inside the window', () => {
    const window = new TimeWindow(10_000);
    failureAt(window, T0);
    failureAt(window, T0 + 6_000);
    const record = window.export(T0 + 6_000);
    expect(record).toEqual({
      type: 'time',
      buckets: [
        [T0, 1, 1, 1, 0],
        [T0 + 6_000, 1, 1, 1, 0],
      ],
    });

    const restored = new TimeWindow(10_000);
    restored.import(record, T0 + 12_000);

    expect(restored.totals(T0 + 12_000)).toEqual({ calls: 1, failedCalls: 1, failures: 1, slow: 0 });
    expect(failuresAt(restored, T0 + 16_000)).toBe(0);
  });

  describe('through the breaker', () => {
    // 10 s window: 10 buckets of 1 s.
    const options = { window: { type: 'time', ms: 10_000 }, failureThreshold: 2 } as const;

    it('opens when a failure recorded at the start of a bucket is `ms - 1` old', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, options);
      await fail(breaker);

      clock.advance(9_999);
      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 2 });
    });

    it('stays closed when that failure is exactly `ms` old', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, options);
      await fail(breaker);

      clock.advance(10_000);
      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1 });
    });

    it('opens when a failure recorded at the end of a bucket is `ms - width` old', async () => {
      const clock = fakeClock(T0 + 999);
      const breaker = breakerOn(clock, options);
      await fail(breaker);

      clock.advance(9_000);
      await fail(breaker);

      expect(breaker.state).toBe('open');
    });

    it('stays closed when that failure is `ms - width + 1` old', async () => {
      const clock = fakeClock(T0 + 999);
      const breaker = breakerOn(clock, options);
      await fail(breaker);

      clock.advance(9_001);
      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1 });
    });

    it('shows in snapshot() only what is still inside the window', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { window: { type: 'time', ms: 10_000 }, failureThreshold: 5 });
      await fail(breaker, 3);

      clock.advance(10_000);

      expect(breaker.snapshot()).toMatchObject({ failures: 0, calls: 0, failureRate: 0 });
    });
  });
});
