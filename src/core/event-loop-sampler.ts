import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { LoadSampler } from './load-sampler';

/** How often the event loop's utilisation is sampled, in ms. */
export const LOAD_SAMPLE_INTERVAL_MS = 500;

/** `performance.eventLoopUtilization`: with two readings, the utilisation between them. */
export type MeasureUtilization = (
  current?: EventLoopUtilization,
  previous?: EventLoopUtilization,
) => EventLoopUtilization;

/**
 * Samples the event loop's utilisation every {@link LOAD_SAMPLE_INTERVAL_MS} with one unref'd
 * timer, started by the first read (an app whose breakers never shed holds no timer) and
 * ended by `stop()`. Reads between samples return the last one: 0 until the first is taken.
 * @publicApi
 */
export class EventLoopSampler implements LoadSampler {
  private timer: NodeJS.Timeout | 'stopped' | undefined;
  private last: EventLoopUtilization | undefined;
  private value = 0;

  constructor(
    private readonly intervalMs = LOAD_SAMPLE_INTERVAL_MS,
    private readonly measure: MeasureUtilization = performance.eventLoopUtilization,
  ) {}

  utilization(): number {
    if (this.timer === undefined) this.start();
    return this.value;
  }

  /** Ends the sampling for good; reads return the last sample. */
  stop(): void {
    if (this.timer !== undefined && this.timer !== 'stopped') clearInterval(this.timer);
    this.timer = 'stopped';
  }

  private start(): void {
    this.last = this.measure();
    this.timer = setInterval(() => this.sample(), this.intervalMs).unref();
  }

  private sample(): void {
    const now = this.measure();
    this.value = this.measure(now, this.last).utilization;
    this.last = now;
  }
}

let shared: EventLoopSampler | undefined;

/** The sampler of breakers built without one (outside the module): one per process. */
export function sharedEventLoopSampler(): EventLoopSampler {
  return (shared ??= new EventLoopSampler());
}
