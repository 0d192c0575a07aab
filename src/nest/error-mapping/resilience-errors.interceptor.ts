import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';
import { ResilienceErrorMapper } from './resilience-error.mapper';

/**
 * Installed app-wide by `ResilienceModule` (unless `mapErrors: false`): a resilience error
 * that escapes any handler (a decorated provider method called from a plain route included)
 * leaves it as its context's answer, e.g. a 503 `ServiceUnavailableException` with
 * `Retry-After`. Interceptors run inside exception filters, so the app's own filters, a
 * catch-all `@Catch()` included, see a Nest `HttpException` rather than an unknown error
 * (no 500, no stack trace logged per rejected request). A filter the app binds to the handler
 * or its class with `@UseFilters()` whose `@Catch()` names the error gets it unmapped.
 */
@Injectable()
export class ResilienceErrorsInterceptor implements NestInterceptor {
  constructor(@Inject(ResilienceErrorMapper) private readonly errors: ResilienceErrorMapper) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        throw this.errors.map(context, error);
      }),
    );
  }
}
