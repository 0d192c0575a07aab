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
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { Scrape } from './metrics-scrape';

const TRANSITIONS = 'circuit_breaker_transitions_total';
const CALLS = 'circuit_breaker_calls_total';

@Injectable()
class InventoryClient {
  @CircuitBreaker('inventory')
  async load(): Promise<string> {
    throw new Error('inventory API down');
  }
}

/** Warms its client up when its module initialises: the API is down, so the breaker opens. */
@Injectable()
class WarmUp implements OnModuleInit {
  constructor(@Inject(InventoryClient) private readonly inventory: InventoryClient) {}

  async onModuleInit(): Promise<void> {
    for (let i = 0; i < 2; i++) await this.inventory.load().catch(() => undefined);
  }
}

@Module({ providers: [InventoryClient, WarmUp] })
class InventoryModule {}

/** A module deeper than ResilienceModule: Nest runs its hooks (WarmUp's) before ResilienceModule's. */
@Module({ imports: [InventoryModule] })
class ShopModule {}

const resilience = () =>
  ResilienceModule.forRoot({
    isGlobal: false,
    breakers: { inventory: { failureThreshold: 2, openDuration: 60_000 } },
  });

/** The app's logger: every line it is given, by level. */
class CapturedLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(`log ${String(message)}`);
  }
  warn(message: unknown): void {
    this.lines.push(`warn ${String(message)}`);
  }
  error(message: unknown): void {
    this.lines.push(`error ${String(message)}`);
  }
  stateChanges(): string[] {
    return this.lines.filter((line) => line.includes('Circuit breaker "inventory"'));
  }
}

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  register.clear();
});

describe('A breaker that changes state before ResilienceModule initialises', () => {
  it('is logged and counted when it opens in the onModuleInit of a deeper module', async () => {
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), resilience(), ShopModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();

    expect(logger.stateChanges()).toEqual([
      'warn Circuit breaker "inventory" closed -> open (failure_threshold, failure rate 100%)',
    ]);
    const scrape = new Scrape((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    expect(scrape.value(TRANSITIONS, { breaker: 'inventory', from: 'closed', to: 'open' })).toBe(1);
    expect(scrape.value(CALLS, { breaker: 'inventory', outcome: 'failure' })).toBe(2);

    // Later changes are logged and counted once each: nothing follows the breaker twice.
    await app.get(BreakerRegistry).get('inventory').trip('incident', 'ops');
    expect(logger.stateChanges()).toHaveLength(2);
    expect(logger.stateChanges()[1]).toMatch(/^warn Circuit breaker "inventory" open -> forced_open/);
    const after = new Scrape((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    expect(after.value(TRANSITIONS, { breaker: 'inventory', from: 'closed', to: 'open' })).toBe(1);
    expect(after.value(TRANSITIONS, { breaker: 'inventory', from: 'open', to: 'forced_open' })).toBe(1);
  });

  it('is logged and counted in a testing module compiled without init(), and no longer once it is closed', async () => {
    const logger = new CapturedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [resilience(), InventoryModule],
    })
      .setLogger(logger)
      .compile();
    const registry = moduleRef.get(BreakerRegistry, { strict: false });

    await moduleRef
      .get(InventoryClient)
      .load()
      .catch(() => undefined);
    await moduleRef
      .get(InventoryClient)
      .load()
      .catch(() => undefined);

    expect(logger.stateChanges()).toEqual([
      'warn Circuit breaker "inventory" closed -> open (failure_threshold, failure rate 100%)',
    ]);
    const scrape = new Scrape(await register.metrics());
    expect(scrape.value(TRANSITIONS, { breaker: 'inventory', from: 'closed', to: 'open' })).toBe(1);
    expect(scrape.value(CALLS, { breaker: 'inventory', outcome: 'failure' })).toBe(2);

    await moduleRef.close();
    await registry.get('inventory').trip('after close');

    expect(logger.stateChanges()).toHaveLength(1);
    expect(new Scrape(await register.metrics()).series(TRANSITIONS)).toEqual([]);
  });
});
