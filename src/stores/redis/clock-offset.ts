/**
 * How far two clocks may drift apart, in ms per ms: 1 ms a second, two clocks each slewed by NTP
 * at its fastest (500 ppm) in opposite directions.
 */
const DRIFT = 0.001;

/**
 * The offset of another clock (Redis' `TIME`) from this instance's, as the bounds that the
 * replies that read it allow. A reply read between `sentAt` and `answeredAt` puts the offset
 * between `remoteNow - answeredAt` and `remoteNow - sentAt`; the bounds kept are the
 * intersection of every reply's, so a reply read late (a burst answered at once, a busy event
 * loop, a stall) loosens nothing a quick one established. They widen by {@link DRIFT} as time
 * passes, since the clocks drift apart, and a reply whose bounds miss them means a clock jumped:
 * they start again from that reply.
 */
export class ClockOffset {
  private low = 0;
  private high = 0;
  /** When (this clock) {@link ClockOffset.low} and {@link ClockOffset.high} held, unwidened. */
  private at = 0;
  private measured = false;

  /** Whether a reply was measured yet. */
  get known(): boolean {
    return this.measured;
  }

  /** Learns from a reply that read the other clock (`remoteNow`) between `sentAt` and `answeredAt`. */
  measure(remoteNow: number, sentAt: number, answeredAt: number): void {
    if (!Number.isFinite(remoteNow)) return;
    // Both clocks are read in whole ms: the other read [remoteNow, remoteNow + 1) while this one read
    // [sentAt, answeredAt + 1).
    let low = remoteNow - answeredAt - 1;
    let high = remoteNow + 1 - sentAt;
    if (this.measured) {
      const widening = this.widening(answeredAt);
      const keptLow = this.low - widening;
      const keptHigh = this.high + widening;
      if (low <= keptHigh && keptLow <= high) {
        low = Math.max(low, keptLow);
        high = Math.min(high, keptHigh);
      }
    }
    this.low = low;
    this.high = high;
    this.at = answeredAt;
    this.measured = true;
  }

  /** The lowest offset the replies allow at `now` (this clock), in whole ms; null before the first reply. */
  lowest(now: number): number | null {
    return this.measured ? Math.floor(this.low - this.widening(now)) : null;
  }

  /** The middle of the offsets the replies allow, in whole ms; null before the first reply. */
  middle(): number | null {
    return this.measured ? Math.round((this.low + this.high) / 2) : null;
  }

  private widening(now: number): number {
    return Math.max(0, now - this.at) * DRIFT;
  }
}
