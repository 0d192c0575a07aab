import { InvalidBreakerOptionsError } from '../core/errors';
import type { ResilienceModuleOptions } from './resilience-options.interface';

const KNOWN: ReadonlySet<string> = new Set<keyof ResilienceModuleOptions>([
  'defaults',
  'breakers',
  'store',
  'metrics',
  'maxKeysPerBreaker',
  'maxBreakers',
  'shutdownTimeout',
]);

/**
 * Refuses module options that are not an object or carry an unknown key (a typo such as
 * `breaker` for `breakers` would otherwise leave every breaker on defaults without a word).
 * The values are checked where they are used: the registry, the store, metrics, shutdown.
 */
export function validateModuleOptions(options: unknown): asserts options is ResilienceModuleOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidBreakerOptionsError(
      '(module)',
      '(options)',
      options,
      'an object of ResilienceModuleOptions',
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new InvalidBreakerOptionsError(
        '(module)',
        key,
        (options as Record<string, unknown>)[key],
        `no such option; known: ${[...KNOWN].join(', ')} (admin and isGlobal sit next to useFactory in forRootAsync)`,
      );
    }
  }
}
