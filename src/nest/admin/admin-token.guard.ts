import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { InvalidBreakerOptionsError } from '../../core/errors';
import { ADMIN_OPTIONS } from './admin-option-table';
import { ADMIN_LOCKED_REQUEST, MALFORMED_AUTHORIZATION, MISSING_TOKEN, WRONG_TOKEN } from './admin.messages';

/** Requests this guard let in; a WeakSet so nothing is written onto the request itself. */
const authenticatedByToken = new WeakSet<object>();

/** True when {@link AdminTokenGuard} admitted this request. */
export function isTokenAuthenticated(request: object): boolean {
  return authenticatedByToken.has(request);
}

/** Where the admin token comes from: the value itself, or a function read once the app starts. */
export type AdminTokenSource = string | undefined | (() => string | undefined);

/**
 * Admits a request whose `Authorization` header is `Bearer <token>`. Both sides are hashed
 * before the constant-time comparison, so neither the token's content nor its length leaks
 * through timing. Missing or wrong credentials answer 401. An empty or unset token locks the
 * routes (401 on every request) rather than leaving them open.
 */
export class AdminTokenGuard implements CanActivate {
  /** The token's digest once read; `null` when there is none and the routes are locked. */
  private expected: Buffer | null | undefined;

  constructor(private readonly source: AdminTokenSource) {}

  /**
   * Reads the token: a function is called now, when the app starts, so a token that
   * `ConfigModule.forRoot()` loads from a `.env` file is there whatever the order of `imports`.
   * @returns false when there is no token, so the routes are locked.
   * @throws {InvalidBreakerOptionsError} when the function gives something other than a string
   */
  load(): boolean {
    const token = typeof this.source === 'function' ? this.source() : this.source;
    if (token !== undefined && typeof token !== 'string') {
      throw new InvalidBreakerOptionsError(
        undefined,
        'admin.token',
        token,
        ADMIN_OPTIONS.token.expected,
        'admin',
      );
    }
    this.expected = token === undefined || token === '' ? null : digest(token);
    return this.expected !== null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) this.load();
    if (this.expected === null) throw new UnauthorizedException(ADMIN_LOCKED_REQUEST);
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const { authorization } = request.headers;
    if (authorization === undefined || authorization === '') throw new UnauthorizedException(MISSING_TOKEN);
    const given = bearerToken(authorization);
    if (given === undefined)
      throw new UnauthorizedException(MALFORMED_AUTHORIZATION(schemeOf(authorization)));
    if (!timingSafeEqual(digest(given), this.expected as Buffer))
      throw new UnauthorizedException(WRONG_TOKEN);
    authenticatedByToken.add(request);
    return true;
  }
}

function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

/** The scheme an Authorization header names (`Basic`), never its credentials; undefined when it is `Bearer`. */
function schemeOf(header: unknown): string | undefined {
  const scheme = typeof header === 'string' ? /^\s*(\S*)/.exec(header)?.[1] : undefined;
  return scheme === undefined || /^bearer$/i.test(scheme) ? undefined : scheme.slice(0, 20);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
