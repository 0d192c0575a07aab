import type { AddressInfo } from 'node:net';
import {
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  Injectable,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { AdminOptions } from '../../src/nest/resilience-options.interface';
import { createHttpApp, type HttpAdapterFactory, initHttpApp } from '../support/http-adapter';

export const ADMIN_TOKEN = 's3cret-admin-token';

/** Breakers every admin test app starts with. */
export const TEST_BREAKERS: Record<string, BreakerOptions> = {
  payments: { failureThreshold: 3, critical: true },
  llm: { preset: 'llm' },
};

/** Stands in for an app's auth guard: `x-user: alice` signs alice in, anything else is refused (403). */
@Injectable()
export class HeaderUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    const user = request.headers['x-user'];
    if (typeof user !== 'string') return false;
    request.user = { username: user, roles: ['ops'] };
    return true;
  }
}

/**
 * A real Nest app with the admin routes mounted as `admin` says, on Express or on the adapter
 * `adapter` makes; listening when asked.
 */
export async function createAdminApp(
  admin: AdminOptions | undefined,
  {
    listen = false,
    filter,
    adapter,
  }: { listen?: boolean; filter?: ExceptionFilter; adapter?: HttpAdapterFactory } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [ResilienceModule.forRoot({ breakers: TEST_BREAKERS, metrics: false, admin })],
  }).compile();
  const app = createHttpApp(moduleRef, { logger: false }, adapter);
  if (filter !== undefined) app.useGlobalFilters(filter);
  if (listen) await app.listen(0, '127.0.0.1');
  else await initHttpApp(app);
  return app;
}

/** `http://127.0.0.1:<port>` of a listening app. */
export function baseUrl(app: INestApplication): string {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

export async function closeApp(app: INestApplication | undefined): Promise<void> {
  await app?.close();
  register.clear();
}
