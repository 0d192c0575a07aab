import { type CanActivate, type ExecutionContext, UnsupportedMediaTypeException } from '@nestjs/common';
import { NOT_JSON } from './admin.messages';

/**
 * Refuses an admin request whose body is not JSON: a form on another site can post
 * form-encoded or plain text to the admin API with the browser's cookies, never JSON (that
 * needs CORS). A request without a body (no content type) passes. First of the admin guards,
 * so that it protects apps whose guard reads a cookie, and those with `insecure: true`.
 */
export class AdminJsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const type = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
      'content-type'
    ];
    if (type === undefined || (typeof type === 'string' && /^application\/json\s*(;|$)/i.test(type)))
      return true;
    throw new UnsupportedMediaTypeException(NOT_JSON(String(type)));
  }
}
