import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { LoadSampler } from '../core/load-sampler';
import { BreakerRegistry } from '../core/registry';
import { BreakerStore } from '../stores/breaker-store';
import { PolicyRegistry } from './policy-registry';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import {
  DEFAULT_SHUTDOWN_TIMEOUT,
  LOAD_SAMPLER,
  LOG_CONTEXT,
  RESILIENCE_OPTIONS,
  SHUTDOWN_POLL_INTERVAL,
} from './resilience.constants';
import * as messages from './resilience.messages';

/**
 * Ends the module's work when the app closes: first waits (up to `shutdownTimeout`) for the
 * protected calls still running, so their outcomes are recorded, then stops the load sampler
 * and closes the store.
 * It waits with unref'd timers: it never keeps a process alive that has nothing else to do.
 */
@Injectable()
export class ResilienceShutdown implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(LOG_CONTEXT);
  private readonly timeout: number;

  constructor(
    @Inject(BreakerRegistry) private readonly registry: BreakerRegistry,
    @Inject(BreakerStore) private readonly store: BreakerStore,
    @Inject(RESILIENCE_OPTIONS) options: ResilienceModuleOptions,
    @Inject(LOAD_SAMPLER) private readonly loadSampler: LoadSampler,
    @Inject(PolicyRegistry) private readonly policies: PolicyRegistry,
  ) {
    this.timeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.timeout;
    for (let running = this.inFlight(); running.some((n) => n > 0); running = this.inFlight()) {
      if (Date.now() >= deadline) {
        this.logger.warn(messages.SHUTDOWN_TIMED_OUT(running, this.timeout));
        return;
      }
      await pause(SHUTDOWN_POLL_INTERVAL);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.loadSampler.stop?.();
    // Calls shutdown stopped waiting for still time out, but hold the process open no longer, nor retry.
    for (const breaker of this.registry.all()) breaker.detachTimers();
    for (const policies of this.policies.all()) policies.close();
    await this.store.close();
  }

  /**
   * Calls in breakers, calls through policies (a call through both counts in each), and dead
   * letters being written: a retry's backoff and a bulkhead's queue hold no breaker call.
   */
  private inFlight(): [number, number, number] {
    let breakers = 0;
    for (const breaker of this.registry.all()) breakers += breaker.inFlight;
    let policies = 0;
    for (const each of this.policies.all()) policies += each.running;
    return [breakers, policies, this.policies.writing];
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
