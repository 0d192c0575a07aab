import { checkOptions, rules, type OptionTable } from '../../core/option-table';
import type { AdminOptions } from '../resilience-options.interface';

/** `admin`: static module settings, checked when `forRoot()` / `forRootAsync()` is called. */
export const ADMIN_OPTIONS: OptionTable<AdminOptions> = {
  path: { ...rules.nonEmptyString('a route prefix such as "/resilience"'), default: '/resilience' },
  guard: { check: (v) => typeof v === 'function', expected: 'a guard class (implementing CanActivate)' },
  // An empty or unset token (an env var missing in a test) locks the routes; it does not fail the boot.
  token: {
    check: (v) => typeof v === 'string' || typeof v === 'function',
    expected: 'a string, or a function returning one (read when the app starts)',
  },
  insecure: { ...rules.boolean, default: false },
};

/**
 * Refuses admin options with an unknown key (`gaurd` would leave the routes without the guard
 * meant for them) or a bad value.
 * @throws {InvalidBreakerOptionsError} (scope `admin`).
 */
export function checkAdminOptions(options: unknown): asserts options is AdminOptions {
  checkOptions({ scope: 'admin' }, ADMIN_OPTIONS, options, 'admin.');
}
