/**
 * Child process of the fleet tests: one instance of an app on the redis store. Its config is
 * one JSON argument: `{ redisUrl, keyPrefix, instanceId, breakers, commandTimeout?, clockSkewMs? }`.
 * It prints `{"port":…}` once it serves, on an ephemeral port:
 * - `GET /call/:name?key=&outcome=ok|fail|hold` runs one call through the breaker and answers
 *   `{ ok, state?, ms }` (a rejection is `ok: false` with the breaker's state); `hold` waits
 *   for `POST /release`. Every call that reaches the dependency counts in `GET /deps`.
 * - `GET /health` (Terminus with the breaker indicator), and the admin API at `/resilience`.
 */
import 'reflect-metadata';

import { Controller, Get, Module, Param, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { AddressInfo } from 'node:net';
import { BreakerRegistry } from '../../src/core/registry';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { BreakerHealthIndicator } from '../../src/terminus/breaker.health';

const config = JSON.parse(process.argv[2]) as {
  redisUrl: string;
  keyPrefix: string;
  instanceId: string;
  breakers: Record<string, object>;
  commandTimeout?: number;
  heartbeat?: number;
  clockSkewMs?: number;
};
if (config.clockSkewMs !== undefined) {
  // This instance's clock is off by that much: the library reads Date.now(), first at boot.
  const realNow = Date.now;
  const skew = config.clockSkewMs;
  Date.now = () => realNow() + skew;
}

let dependencyCalls = 0;
let releaseHeld!: () => void;
let held = new Promise<void>((resolve) => (releaseHeld = resolve));

@Controller()
class FleetController {
  constructor(
    private readonly registry: BreakerRegistry,
    private readonly health: HealthCheckService,
    private readonly breakers: BreakerHealthIndicator,
  ) {}

  @Get('call/:name')
  async call(@Param('name') name: string, @Query('outcome') outcome = 'ok', @Query('key') key?: string) {
    const started = performance.now();
    try {
      await this.registry.get(name, key).execute(async () => {
        dependencyCalls++;
        if (outcome === 'hold') await held;
        if (outcome === 'fail') throw new Error('dependency down');
      });
      return { ok: true, ms: performance.now() - started };
    } catch (error) {
      const state = (error as { state?: string }).state;
      return { ok: false, state, ms: performance.now() - started };
    }
  }

  @Post('release')
  release() {
    releaseHeld();
    held = new Promise<void>((resolve) => (releaseHeld = resolve));
    return {};
  }

  @Get('deps')
  deps() {
    return { calls: dependencyCalls };
  }

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}

@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    ResilienceModule.forRoot({
      metrics: false,
      admin: { insecure: true },
      store: {
        type: 'redis',
        url: config.redisUrl,
        keyPrefix: config.keyPrefix,
        instanceId: config.instanceId,
        commandTimeout: config.commandTimeout,
        heartbeat: config.heartbeat ?? 200,
      },
      breakers: config.breakers,
    }),
  ],
  controllers: [FleetController],
  providers: [BreakerHealthIndicator],
})
class FleetAppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(FleetAppModule, { logger: ['error'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

void main();
