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
  ) {
    this.timeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.timeout;
    for (let running = this.inFlight(); running > 0; running = this.inFlight()) {
      if (Date.now() >= deadline) {
        this.logger.warn(messages.SHUTDOWN_TIMED_OUT(running, this.timeout));
        return;
      }
      await pause(SHUTDOWN_POLL_INTERVAL);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.loadSampler.stop?.();
    await this.store.close();
  }

  private inFlight(): number {
    let running = 0;
    for (const breaker of this.registry.all()) running += breaker.inFlight;
    return running;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
