import type { PolicyTimers, RandomSource } from '../../../src/core/policies/timers';

/** Timers on a clock the test moves by hand: no test sleeps. */
export interface FakeTimers extends PolicyTimers {
  /** Moves the clock by `ms`, firing due timers in order and letting promises settle between them. */
  advance(ms: number): Promise<void>;
  /** Timers waiting now. */
  readonly pending: number;
  /** Every delay a timer was started with, in order. */
  readonly started: number[];
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

export const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

export function fakeTimers(start = 1_000_000): FakeTimers {
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();
  const started: number[] = [];
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      const timer = { at: now + ms, seq: seq++, callback };
      timers.add(timer);
      started.push(ms);
      return timer;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as Timer);
    },
    get pending() {
      return timers.size;
    },
    started,
    async advance(ms) {
      const end = now + ms;
      await flush();
      for (;;) {
        const due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (due === undefined) break;
        timers.delete(due);
        now = due.at;
        due.callback();
        await flush();
      }
      now = end;
      await flush();
    },
  };
}

/** A seeded source of numbers in [0, 1) (mulberry32): the same sequence every run. */
export function seededRandom(seed = 42): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
