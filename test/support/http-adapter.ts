import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';

/**
 * Makes the HTTP adapter one app runs on, a new one per app (`() => new FastifyAdapter()`);
 * without one, an app runs on Nest's default, Express.
 */
export type HttpAdapterFactory = () => AbstractHttpAdapter;

/** `moduleRef`'s app on the adapter `adapter` makes, or on Express; not started yet. */
export function createHttpApp(
  moduleRef: TestingModule,
  options: NestApplicationOptions,
  adapter?: HttpAdapterFactory,
): INestApplication {
  return adapter === undefined
    ? moduleRef.createNestApplication(options)
    : moduleRef.createNestApplication(adapter(), options);
}

/**
 * Initialises `app` so that a request to `app.getHttpServer()` reaches its routes: a Fastify
 * app registers them when its instance is ready, which `init()` alone does not wait for.
 */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  const adapter = app.getHttpAdapter();
  if (adapter.getType() === 'fastify') await (adapter.getInstance() as { ready(): Promise<unknown> }).ready();
}
