import {
  type ArgumentsHost,
  type CallHandler,
  Catch,
  type ExceptionFilter,
  type ExecutionContext,
  HttpException,
  Injectable,
  type INestApplication,
  InternalServerErrorException,
  Module,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { catchError, type Observable, throwError } from 'rxjs';
import request from 'supertest';
import { isResilienceError } from '../../src/core/errors';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { PayController, PaymentsClient } from '../support/failing-payments';

/**
 * An app with exception filters and interceptors of its own, as the README's "The 503 and 504
 * responses" describes: a catch-all filter keeps the 503 and its Retry-After, and an interceptor
 * that hides unknown errors keeps it once it lets resilience errors through.
 */

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Nest's documented catch-all: status from an HttpException, 500 otherwise, a body of its own. */
@Catch()
class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    host.switchToHttp().getResponse().status(status).json({ ok: false, status });
  }
}

/** Replaces every error that is not an HttpException by a 500, but lets resilience errors through. */
@Injectable()
class HideInternals implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(
        catchError((error: unknown) =>
          throwError(() =>
            error instanceof HttpException || isResilienceError(error)
              ? error
              : new InternalServerErrorException(),
          ),
        ),
      );
  }
}

const resilience = () =>
  ResilienceModule.forRoot({ metrics: false, breakers: { payments: { failureThreshold: 1 } } });

async function expectOpenAnswers503(started: INestApplication): Promise<void> {
  const http = request(started.getHttpServer());
  await http.get('/pay').expect(500, { ok: false, status: 500 });
  const rejected = await http.get('/pay').expect(503, { ok: false, status: 503 });
  expect(rejected.headers['retry-after']).toBe('30');
}

describe("an app's own filters and interceptors", () => {
  it('should answer 503 with Retry-After through a catch-all APP_FILTER and an interceptor from app.useGlobalInterceptors()', async () => {
    @Module({
      imports: [resilience()],
      providers: [PaymentsClient, { provide: APP_FILTER, useClass: AllExceptionsFilter }],
      controllers: [PayController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalInterceptors(new HideInternals());
    await app.init();

    await expectOpenAnswers503(app);
  });

  it('should answer 503 with Retry-After through an APP_INTERCEPTOR of a module imported after ResilienceModule', async () => {
    @Module({
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_INTERCEPTOR, useClass: HideInternals },
      ],
    })
    class CoreModule {}
    @Module({
      imports: [resilience(), CoreModule],
      providers: [PaymentsClient],
      controllers: [PayController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    await expectOpenAnswers503(app);
  });
});
