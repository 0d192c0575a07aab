import type { CanActivate, Type } from '@nestjs/common';
import type { AdminOptions } from '../resilience-options.interface';
import { AdminTokenGuard } from './admin-token.guard';
import { ADMIN_UNPROTECTED } from './admin.messages';

/**
 * The guards that protect the admin routes (of options already checked against their table):
 * the app's guard, then the token guard, each when given (both must pass when both are). Throws when there would be none and the
 * options do not say `insecure: true`, so unprotected routes are never an accident; a `token`
 * key whose value is empty or unset counts as given and locks the routes.
 */
export function adminGuards(options: AdminOptions, path: string): Array<Type<CanActivate> | CanActivate> {
  const { guard, token, insecure = false } = options;
  const guards: Array<Type<CanActivate> | CanActivate> = [];
  if (guard !== undefined) guards.push(guard);
  // A `token` key stands for a token even when its value is unset (`process.env.ADMIN_TOKEN` in
  // a test): the routes are then locked, not refused, so the app still boots.
  if (Object.hasOwn(options, 'token')) guards.push(new AdminTokenGuard(token));
  if (guards.length === 0 && !insecure) throw new Error(ADMIN_UNPROTECTED(path));
  return guards;
}
