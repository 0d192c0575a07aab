import type { CanActivate, Type } from '@nestjs/common';
import type { AdminOptions } from '../resilience-options.interface';
import { AdminTokenGuard } from './admin-token.guard';
import { ADMIN_UNPROTECTED, INVALID_ADMIN_OPTION } from './admin.messages';

/**
 * The guards that protect the admin routes: the app's guard, then the token guard, each
 * when given (both must pass when both are). Throws when there would be none and the
 * options do not say `insecure: true`, so unprotected routes are never an accident.
 */
export function adminGuards(options: AdminOptions, path: string): Array<Type<CanActivate> | CanActivate> {
  const { guard, token, insecure = false } = options;
  if (guard !== undefined && typeof guard !== 'function') {
    throw new Error(INVALID_ADMIN_OPTION('guard', 'a guard class (implementing CanActivate)'));
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw new Error(INVALID_ADMIN_OPTION('token', 'a non-empty string'));
  }
  if (typeof insecure !== 'boolean') throw new Error(INVALID_ADMIN_OPTION('insecure', 'true or false'));
  const guards: Array<Type<CanActivate> | CanActivate> = [];
  if (guard !== undefined) guards.push(guard);
  if (token !== undefined) guards.push(new AdminTokenGuard(token));
  if (guards.length === 0 && !insecure) throw new Error(ADMIN_UNPROTECTED(path));
  return guards;
}
