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
 * On a runtime that does not measure its loop (every sample reads neither active nor idle time:
 * Bun, Deno) it reads 0, and its first sample emits one process warning
 * (`NEST_RESILIENCE_LOAD_SHED_UNMEASURED`).
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
    const interval = this.measure(now, this.last);
    this.value = interval.utilization;
    this.last = now;
    // An interval that passed with neither active nor idle time was not measured at all.
    if (interval.active + interval.idle === 0) warnUnmeasured();
  }
}

let warnedUnmeasured = false;

/**
 * Says once per process that the runtime does not measure its event loop (Bun and Deno read 0
 * from `performance.eventLoopUtilization()`): `loadShed` would otherwise fail to shed silently.
 */
function warnUnmeasured(): void {
  if (warnedUnmeasured) return;
  warnedUnmeasured = true;
  process.emitWarning(
    'loadShed never sheds on this runtime: performance.eventLoopUtilization() reads 0 ' +
      '(Bun and Deno do). Outside Nest, give the registry a LoadSampler of your own: ' +
      'new BreakerRegistry({ loadSampler })',
    { code: 'NEST_RESILIENCE_LOAD_SHED_UNMEASURED' },
  );
}

let shared: EventLoopSampler | undefined;

/** The sampler of breakers built without one (outside the module): one per process. */
export function sharedEventLoopSampler(): EventLoopSampler {
  return (shared ??= new EventLoopSampler());
}
