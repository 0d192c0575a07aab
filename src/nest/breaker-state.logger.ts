import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Breaker } from '../core/breaker';
import type { StateChangeEvent } from '../core/breaker-events';
import { CircuitState } from '../core/circuit-state';
import { BreakerRegistry } from '../core/registry';
import { LOG_CONTEXT } from './resilience.constants';
import * as messages from './resilience.messages';

/** States logged as warnings: calls are being rejected. */
const REJECTING: ReadonlySet<string> = new Set([CircuitState.OPEN, CircuitState.FORCED_OPEN]);

/**
 * Writes one line through Nest's `Logger` (context `CircuitBreaker`) on every state change of
 * every breaker: a warning when a breaker starts rejecting calls (OPEN, FORCED_OPEN), a log
 * line otherwise. The line names the breaker, both states, the reason, the actor of a manual
 * change and the failure rate. Nothing is logged per call.
 *
 * It follows the breakers from the moment it is built, not from its `onModuleInit`: a decorated
 * method may be called before (see `registry-holder.ts`), and a breaker it opens then is logged.
 */
@Injectable()
export class BreakerStateLogger implements OnApplicationShutdown {
  private readonly logger = new Logger(LOG_CONTEXT);
  private readonly subscriptions = new Map<Breaker, () => void>();
  private readonly registrySubscriptions: Array<() => void> = [];

  constructor(@Inject(BreakerRegistry) registry: BreakerRegistry) {
    for (const breaker of registry.all()) this.follow(breaker);
    this.registrySubscriptions.push(
      registry.on('added', (breaker) => this.follow(breaker)),
      registry.on('removed', (breaker) => {
        this.subscriptions.get(breaker)?.();
        this.subscriptions.delete(breaker);
      }),
    );
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of [...this.registrySubscriptions.splice(0), ...this.subscriptions.values()])
      unsubscribe();
    this.subscriptions.clear();
  }

  private follow(breaker: Breaker): void {
    this.subscriptions.set(
      breaker,
      breaker.on('stateChange', (event) => this.write(event)),
    );
  }

  private write(event: StateChangeEvent): void {
    // The message alone: Nest's console logger prints every extra param on lines of its own.
    if (REJECTING.has(event.to)) this.logger.warn(messages.STATE_CHANGE(event));
    else this.logger.log(messages.STATE_CHANGE(event));
  }
}
