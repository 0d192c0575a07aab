import { ClockOffset } from '../../src/stores/redis/clock-offset';

/**
 * Redis' clock is 5,000 ms ahead of this one in these tests, unless one of them jumps. A reply
 * read at local `readAt` comes from Redis reading its clock at `readAt + offset`.
 */
const OFFSET = 5_000;

function reply(
  clock: ClockOffset,
  sentAt: number,
  readAt: number,
  answeredAt: number,
  offset = OFFSET,
): void {
  clock.measure(readAt + offset, sentAt, answeredAt);
}

describe('ClockOffset', () => {
  it('should know nothing before the first reply', () => {
    const clock = new ClockOffset();

    expect(clock.known).toBe(false);
    expect(clock.lowest(0)).toBeNull();
    expect(clock.middle()).toBeNull();
  });

  it('should bound the offset by the round trip of a reply, within whole ms', () => {
    const clock = new ClockOffset();
    reply(clock, 1_000, 1_004, 1_010);

    expect(clock.known).toBe(true);
    expect(clock.lowest(1_010)).toBe(OFFSET - 7);
    expect(clock.middle()).toBe(OFFSET - 1);
  });

  it('should not date deadlines earlier after a slow reply than a quick earlier one allows', () => {
    const clock = new ClockOffset();
    reply(clock, 1_000, 1_000, 1_001);
    // Redis read its clock as soon as the command came, and the answer was read 200 ms later (a busy event loop).
    reply(clock, 2_000, 2_000, 2_200);

    // The slow reply alone allows OFFSET - 201; the quick one, widened by 1.2 s of drift, OFFSET - 3.2.
    expect(clock.lowest(2_200)).toBe(OFFSET - 4);
    expect(clock.middle()).toBe(OFFSET - 1);
  });

  it('should tighten the bounds with a quicker reply', () => {
    const clock = new ClockOffset();
    reply(clock, 1_000, 1_100, 1_200);
    reply(clock, 2_000, 2_000, 2_000);

    expect(clock.lowest(2_000)).toBe(OFFSET - 1);
    expect(clock.middle()).toBe(OFFSET);
  });

  it.each([
    ['ahead', -10_000],
    ['back', 10_000],
  ])('should start again from a reply whose bounds miss those kept: this clock jumped %s', (_, jump) => {
    const clock = new ClockOffset();
    reply(clock, 1_000, 1_000, 1_001);
    reply(clock, 2_000, 2_050, 2_100, OFFSET + jump);

    expect(clock.lowest(2_100)).toBe(OFFSET + jump - 51);
    expect(clock.middle()).toBe(OFFSET + jump);
  });

  it('should widen the bounds kept by 1 ms a second either way, so deadlines allow for drift', () => {
    const clock = new ClockOffset();
    reply(clock, 1_000, 1_000, 1_000);

    expect(clock.lowest(1_000)).toBe(OFFSET - 1);
    expect(clock.lowest(11_000)).toBe(OFFSET - 11);
    expect(clock.middle()).toBe(OFFSET);
  });

  it('should follow a clock that drifts: a long-lived instance keeps learning', () => {
    const clock = new ClockOffset();
    reply(clock, 0, 0, 0);
    // Redis' clock loses 0.75 ms a second: 4 s later the offset is below the bounds the first reply allowed,
    // [OFFSET - 1, OFFSET + 1], and the deadlines must allow for it.
    reply(clock, 4_000, 4_005, 4_010, OFFSET - 3);

    expect(clock.lowest(4_010)).toBeLessThanOrEqual(OFFSET - 3);
    expect(clock.lowest(4_010)).toBe(OFFSET - 6);
    // Many quick replies later, the bounds are as tight as the last reply's, around the new offset.
    for (let t = 5_000; t <= 60_000; t += 5_000) reply(clock, t, t, t, OFFSET - 3);
    expect(clock.lowest(60_000)).toBe(OFFSET - 4);
    expect(clock.middle()).toBe(OFFSET - 3);
  });
});
