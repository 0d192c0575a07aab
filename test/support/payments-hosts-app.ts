import { Controller, Get, Query, ServiceUnavailableException, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { BreakerStore } from '../../src/stores/breaker-store';

/**
 * `GET /charge` through the `payments` breaker, `GET /proxy?host=<host>` through the per-key
 * breaker of `hosts` for that host; `?fail=yes` makes either answer 503.
 */
@Controller()
class PaymentsHostsController {
  @CircuitBreaker('payments')
  @Get('charge')
  charge(@Query('fail') fail?: string): string {
    if (fail) throw new ServiceUnavailableException('payment API down');
    return 'charged';
  }

  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get('proxy')
  proxy(@Query('host') host: string, @Query('fail') fail?: string): string {
    if (fail) throw new ServiceUnavailableException(`${host} is down`);
    return 'proxied';
  }
}

/**
 * A real app serving PaymentsHostsController and /metrics (PrometheusModule, no default
 * metrics), whose `payments` and `hosts` breakers open at the first failure; on `store` when
 * given. Initialised, not listening: drive it with supertest.
 */
export async function startPaymentsHostsApp(store?: BreakerStore): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      PrometheusModule.register({ defaultMetrics: { enabled: false } }),
      ResilienceModule.forRoot({
        breakers: { payments: { failureThreshold: 1 }, hosts: { failureThreshold: 1 } },
        ...(store === undefined ? {} : { store }),
      }),
    ],
    controllers: [PaymentsHostsController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return app;
}
