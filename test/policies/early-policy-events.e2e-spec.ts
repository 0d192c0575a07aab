import {
  Inject,
  Injectable,
  Module,
  type INestApplication,
  type LoggerService,
  type OnModuleInit,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import request from 'supertest';
import { RateLimit, Retry } from '../../src/nest/policy.decorators';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { Scrape } from '../nest/metrics-scrape';

const RETRIES = 'resilience_retries_total';
const REJECTED = 'resilience_rejected_total';

@Injectable()
class CatalogClient {
  @Retry({ attempts: 2, delay: 1, jitter: 'none' })
  async load(): Promise<string> {
    throw new Error('catalog API down');
  }

  @RateLimit({ limit: 1, interval: 60_000, key: (tenant: unknown) => tenant as string })
  async prices(tenant: unknown): Promise<string> {
    return `prices of ${String(tenant)}`;
  }
}

/**
 * Warms its client up when its module initialises: the API is down (the retry gives up), the
 * second price load is over the rate limit, and a bad tenant has no rate-limit bucket.
 */
@Injectable()
class WarmUp implements OnModuleInit {
  constructor(@Inject(CatalogClient) private readonly catalog: CatalogClient) {}

  async onModuleInit(): Promise<void> {
    await this.catalog.load().catch(() => undefined);
    await this.catalog.prices('acme');
    await this.catalog.prices('acme').catch(() => undefined);
    await this.catalog.prices({ tenant: 'acme' }).catch(() => undefined);
  }
}

@Module({ providers: [CatalogClient, WarmUp] })
class CatalogModule {}

/** A module deeper than ResilienceModule: Nest runs its hooks (WarmUp's) before ResilienceModule's. */
@Module({ imports: [CatalogModule] })
class ShopModule {}

const resilience = () => ResilienceModule.forRoot({ isGlobal: false });

/** The app's logger: its warnings. */
class CapturedLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  keyWarnings(): string[] {
    return this.warnings.filter((line) =>
      line.startsWith('Policy "CatalogClient.prices": invalid rate-limit key'),
    );
  }
}

/** What the warm-up does to the policies' counters. */
function warmUpCounts(scrape: Scrape): Record<string, number | undefined> {
  return {
    retried: scrape.value(RETRIES, { policy: 'CatalogClient.load', outcome: 'retried' }),
    exhausted: scrape.value(RETRIES, { policy: 'CatalogClient.load', outcome: 'exhausted' }),
    rateLimited: scrape.value(REJECTED, { policy: 'CatalogClient.prices', reason: 'rate_limited' }),
  };
}

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  register.clear();
});

describe("A policy's events before ResilienceModule initialises", () => {
  it('are counted and logged when they happen in the onModuleInit of a deeper module', async () => {
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), resilience(), ShopModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();

    const scrape = new Scrape((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    expect(warmUpCounts(scrape)).toEqual({ retried: 2, exhausted: 1, rateLimited: 1 });
    expect(logger.keyWarnings()).toHaveLength(1);

    // Later events are counted once each: nothing follows the policies twice.
    await app
      .get(CatalogClient)
      .prices('acme')
      .catch(() => undefined);
    const after = new Scrape((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    expect(after.value(REJECTED, { policy: 'CatalogClient.prices', reason: 'rate_limited' })).toBe(2);
    expect(after.value(RETRIES, { policy: 'CatalogClient.load', outcome: 'retried' })).toBe(2);
  });

  it('are counted and logged in a testing module compiled without init(), and no longer once it is closed', async () => {
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({ imports: [resilience(), CatalogModule] })
      .setLogger(logger)
      .compile();

    await moduleRef.get(WarmUp).onModuleInit();

    expect(warmUpCounts(new Scrape(await register.metrics()))).toEqual({
      retried: 2,
      exhausted: 1,
      rateLimited: 1,
    });
    expect(logger.keyWarnings()).toHaveLength(1);

    await moduleRef.close();
    const scrape = new Scrape(await register.metrics());
    expect([...scrape.series(RETRIES), ...scrape.series(REJECTED)]).toEqual([]);
  });

  it('leave nothing in the registry from a testing module compiled and never called, initialised or closed', async () => {
    await Test.createTestingModule({ imports: [resilience(), CatalogModule] }).compile();

    const scrape = new Scrape(await register.metrics());
    expect([...scrape.series(RETRIES), ...scrape.series(REJECTED)]).toEqual([]);
  });
});
