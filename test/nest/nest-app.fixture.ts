import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import request from 'supertest';
import type { Breaker } from '../../src/core/breaker';
import { BreakerRegistry } from '../../src/core/registry';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { createHttpApp, type HttpAdapterFactory, initHttpApp } from '../support/http-adapter';

export interface TestApp {
  app: INestApplication;
  registry: BreakerRegistry;
  http: () => ReturnType<typeof request>;
  breaker: (name: string, key?: string) => Breaker;
  close: () => Promise<void>;
}

const open = new Set<INestApplication>();

/**
 * A real Nest app (HTTP included) with `ResilienceModule.forRoot(options)` (metrics off) and
 * `metadata`, on Express or on the adapter `adapter` makes. Every app a test file starts is
 * closed by {@link closeAllApps} in `afterEach`.
 */
export async function createApp(
  metadata: ModuleMetadata,
  options: ResilienceModuleRootOptions = {},
  { adapter }: { adapter?: HttpAdapterFactory } = {},
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [ResilienceModule.forRoot({ metrics: false, ...options }), ...(metadata.imports ?? [])],
  }).compile();
  const app = createHttpApp(moduleRef, { logger: false }, adapter);
  open.add(app);
  await initHttpApp(app);
  const registry = app.get(BreakerRegistry);
  return {
    app,
    registry,
    http: () => request(app.getHttpServer()),
    breaker: (name, key) => registry.get(name, key),
    close: () => closeApp(app),
  };
}

export async function closeApp(app: INestApplication): Promise<void> {
  open.delete(app);
  await app.close();
  register.clear();
}

export async function closeAllApps(): Promise<void> {
  await Promise.all([...open].map(closeApp));
}
