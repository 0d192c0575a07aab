import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { MISSING_TOKEN, WRONG_TOKEN } from './admin.messages';

/** Requests this guard let in; a WeakSet so nothing is written onto the request itself. */
const authenticatedByToken = new WeakSet<object>();

/** True when {@link AdminTokenGuard} admitted this request. */
export function isTokenAuthenticated(request: object): boolean {
  return authenticatedByToken.has(request);
}

/**
 * Admits a request whose `Authorization` header is `Bearer <token>`. Both sides are hashed
 * before the constant-time comparison, so neither the token's content nor its length leaks
 * through timing. Missing or wrong credentials answer 401.
 */
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const given = bearerToken(request.headers.authorization);
    if (given === undefined) throw new UnauthorizedException(MISSING_TOKEN);
    if (!timingSafeEqual(digest(given), this.expected)) throw new UnauthorizedException(WRONG_TOKEN);
    authenticatedByToken.add(request);
    return true;
  }
}

function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
