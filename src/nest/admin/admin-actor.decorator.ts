import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { isTokenAuthenticated } from './admin-token.guard';

/** Fields of `request.user` tried in turn for the actor's name (Passport/JWT conventions). */
const PRINCIPAL_KEYS = ['id', 'sub', 'username', 'name'] as const;

/**
 * Who is calling an admin route, as recorded in the audit log: the principal the app's
 * guard put on `request.user`, else `'token'` when the admin token let the call in, else
 * `null` (routes mounted with `insecure: true`).
 */
function actorOf(request: { user?: unknown }): string | null {
  return principalName(request.user) ?? (isTokenAuthenticated(request) ? 'token' : null);
}

function principalName(user: unknown): string | null {
  if (typeof user === 'string') return user === '' ? null : user;
  if (typeof user !== 'object' || user === null) return null;
  for (const key of PRINCIPAL_KEYS) {
    const value = (user as Record<string, unknown>)[key];
    if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
  }
  return null;
}

/** Injects {@link actorOf} the current request into an admin route handler. */
export const AdminActor = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  actorOf(context.switchToHttp().getRequest()),
);
