import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { ADMIN_PATH, AppModule } from './app.module';
import { DEV_ADMIN_TOKEN, readSampleConfig } from './sample-config';

async function bootstrap(): Promise<void> {
  const config = readSampleConfig(process.env);
  const app = await NestFactory.create(AppModule.forRoot(config));
  // SIGTERM/SIGINT close the app: the breaker store is flushed and closed. Named, because with
  // no list Nest binds every signal, and Deno refuses some of them (SIGILL) at boot.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.port);

  const { port } = app.getHttpServer().address() as AddressInfo;
  const base = `http://localhost:${port}`;
  const logger = new Logger('SampleApp');
  logger.log(`Quote (with fallback):  ${base}/quotes/42`);
  logger.log(`Quote (no fallback):    ${base}/quotes/42/direct`);
  logger.log(`Downstream mode:        ${base}/downstream/mode  (POST {"mode":"ok"|"fail"|"slow"})`);
  logger.log(`Readiness / liveness:   ${base}/health/ready  ${base}/health/live`);
  logger.log(`Prometheus metrics:     ${base}/metrics`);
  logger.log(`Admin API:              ${base}${ADMIN_PATH}/breakers  (Authorization: Bearer <ADMIN_TOKEN>)`);
  const store =
    config.store.type === 'sqlite'
      ? `sqlite at ${config.store.path}`
      : config.store.type === 'redis'
        ? `redis at ${config.store.url}, shared by every instance`
        : 'memory';
  logger.log(`Breaker store:          ${store}`);
  if (config.adminToken === DEV_ADMIN_TOKEN) {
    logger.warn(`ADMIN_TOKEN is not set: the admin API accepts the dev token "${DEV_ADMIN_TOKEN}"`);
  }
}

void bootstrap();
