import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type INestApplication,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerOpenError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { CircuitBreakerExplorer } from '../../src/nest/circuit-breaker.explorer';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { PayController, PaymentsClient } from '../support/failing-payments';
import { useTempDir } from '../support/temp-dir';

/**
 * How apps import ResilienceModule beyond the one global forRoot() in the root module:
 * `isGlobal: false` in a feature module, a testing module that is compiled but never
 * initialised, and the module imported twice.
 */

const tempDir = useTempDir();
const apps: INestApplication[] = [];
let warnings: string[] = [];

beforeEach(() => {
  warnings = [];
  jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
    warnings.push(String(message));
  });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  jest.restoreAllMocks();
});

/** `GET /state`: the state of the `payments` breaker, from the registry its module can inject. */
@Controller('state')
class StateController {
  constructor(@Inject(BreakerRegistry) private readonly registry: BreakerRegistry) {}

  @Get()
  state(): string {
    return this.registry.get('payments').state;
  }
}

/** A provider that warms its client up when its module initialises, as apps do. */
@Injectable()
class WarmUp implements OnModuleInit {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  async onModuleInit(): Promise<void> {
    await this.payments.charge().catch(() => undefined);
  }
}

const localResilience = (): DynamicModule =>
  ResilienceModule.forRoot({
    isGlobal: false,
    metrics: false,
    breakers: { payments: { failureThreshold: 2 } },
  });

async function start(imports: Array<DynamicModule | (new () => unknown)>): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const noModuleWarnings = () => warnings.filter((w) => w.includes('no ResilienceModule is initialised'));

describe('ResilienceModule with isGlobal: false', () => {
  it('should protect a provider of a module that imports the feature module importing it', async () => {
    @Module({ imports: [localResilience()], providers: [PaymentsClient], exports: [PaymentsClient] })
    class PaymentsModule {}
    @Module({ imports: [PaymentsModule], controllers: [PayController] })
    class ShopModule {}

    const app = await start([ShopModule]);

    const http = request(app.getHttpServer());
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(503);
  });

  it("should protect a call made in the onModuleInit of a module deeper than ResilienceModule's", async () => {
    // Nest runs the hooks of deeper modules first: WarmUp's runs before ResilienceModule's.
    @Module({ providers: [PaymentsClient, WarmUp], exports: [PaymentsClient] })
    class PaymentsModule {}
    @Module({ imports: [PaymentsModule], controllers: [PayController] })
    class ShopModule {}

    const app = await start([localResilience(), ShopModule]);

    expect(noModuleWarnings()).toEqual([]);
    const registry = app.get(BreakerRegistry);
    expect(registry.get('payments').snapshot()).toMatchObject({ failures: 1, calls: 1 });
    // The warm-up counted toward opening: one failure over HTTP opens it.
    const http = request(app.getHttpServer());
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(503);
  });

  it("should count such calls in each app's own breakers when two apps are built before either starts", async () => {
    @Module({ providers: [PaymentsClient, WarmUp], exports: [PaymentsClient] })
    class PaymentsModule {}
    @Module({ imports: [PaymentsModule] })
    class ShopModule {}
    const build = async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [localResilience(), ShopModule],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      apps.push(app);
      return app;
    };
    const first = await build();
    const second = await build();

    await first.init();
    await second.init();

    expect(first.get(BreakerRegistry).get('payments').snapshot().calls).toBe(1);
    expect(second.get(BreakerRegistry).get('payments').snapshot().calls).toBe(1);
  });
});

describe('a testing module compiled without init()', () => {
  it('should protect its providers, as a unit test written the Nest way expects', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({ metrics: false, breakers: { payments: { failureThreshold: 2 } } }),
      ],
      providers: [PaymentsClient],
    }).compile();
    const client = moduleRef.get(PaymentsClient);

    try {
      await expect(client.charge()).rejects.toThrow('payment API down');
      await expect(client.charge()).rejects.toThrow('payment API down');
      await expect(client.charge()).rejects.toBeInstanceOf(BreakerOpenError);
      expect(noModuleWarnings()).toEqual([]);
    } finally {
      await moduleRef.close();
    }
    // Closed, it is unprotected again.
    await expect(client.charge()).rejects.toThrow('payment API down');
  });
});

describe('a testing module compiled without init(), while it stays so', () => {
  it('should look for its instances once, not again at each call on an instance no app binds', async () => {
    const scans = jest.spyOn(DiscoveryService.prototype, 'getProviders');
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ breakers: { payments: { failureThreshold: 2 } } })],
      providers: [PaymentsClient],
    }).compile();

    try {
      // Built by hand: no app binds it, and no app is running, so its calls are unprotected.
      const handMade = new PaymentsClient();
      for (let call = 0; call < 100; call++) await handMade.charge().catch(() => undefined);
      expect(scans).toHaveBeenCalledTimes(1);

      // The module's own instance was bound by that one look.
      const client = moduleRef.get(PaymentsClient);
      await expect(client.charge()).rejects.toThrow('payment API down');
      await expect(client.charge()).rejects.toThrow('payment API down');
      await expect(client.charge()).rejects.toBeInstanceOf(BreakerOpenError);
      expect(scans).toHaveBeenCalledTimes(1);
    } finally {
      await moduleRef.close();
    }
  });

  it('should look again after a call made while Nest still builds the app, for the instances built after it', async () => {
    @Injectable()
    class RefundsClient {
      constructor(@Inject('WARMED_UP') readonly warmedUp: boolean) {}

      @CircuitBreaker('refunds')
      async refund(): Promise<string> {
        throw new Error('refund API down');
      }
    }
    const resilience = ResilienceModule.forRoot({
      breakers: { payments: { failureThreshold: 2 }, refunds: { failureThreshold: 1 } },
    });
    // In ResilienceModule's own module, so that the warm-up can wait for its explorer to exist.
    resilience.providers = [
      ...(resilience.providers ?? []),
      PaymentsClient,
      RefundsClient,
      {
        // A warm-up while Nest builds the app: RefundsClient, which waits for it, is not built yet.
        provide: 'WARMED_UP',
        inject: [PaymentsClient, CircuitBreakerExplorer],
        useFactory: async (payments: PaymentsClient) => {
          await payments.charge().catch(() => undefined);
          return true;
        },
      },
    ];
    const moduleRef = await Test.createTestingModule({ imports: [resilience] }).compile();

    try {
      const registry = moduleRef.get(BreakerRegistry);
      expect(registry.get('payments').snapshot().calls).toBe(1);
      const refunds = moduleRef.get(RefundsClient);
      await expect(refunds.refund()).rejects.toThrow('refund API down');
      await expect(refunds.refund()).rejects.toBeInstanceOf(BreakerOpenError);
      expect(noModuleWarnings()).toEqual([]);
    } finally {
      await moduleRef.close();
    }
  });
});

describe('ResilienceModule imported more than once in one app', () => {
  const compile = (imports: Array<DynamicModule | (new () => unknown)>) =>
    Test.createTestingModule({ imports }).compile();

  it('should fail the boot when the root module and a feature module each call forRoot(), before either opens its store', async () => {
    const file = join(tempDir(), 'breakers.db');
    const store = { type: 'sqlite', path: file } as const;
    @Module({
      imports: [
        ResilienceModule.forRoot({ metrics: false, store, breakers: { payments: { failureThreshold: 2 } } }),
      ],
      providers: [PaymentsClient],
      controllers: [PayController],
    })
    class PaymentsModule {}
    @Module({
      imports: [
        ResilienceModule.forRoot({ metrics: false, store, breakers: { payments: { failureThreshold: 5 } } }),
        PaymentsModule,
      ],
    })
    class AppModule {}

    await expect(compile([AppModule])).rejects.toThrow(
      /^ResilienceModule is imported 2 times in this app \(by AppModule, PaymentsModule\).*Import it once: .*with isGlobal: false, in one module of yours that lists ResilienceModule in its exports/s,
    );
    expect(existsSync(file)).toBe(false);
  });

  it('should fail the boot when two feature modules each call forRoot({ isGlobal: false })', async () => {
    @Module({ imports: [localResilience()], providers: [PaymentsClient], exports: [PaymentsClient] })
    class PaymentsModule {}
    @Module({ imports: [localResilience(), PaymentsModule], controllers: [PayController] })
    class ShopModule {}

    await expect(compile([ShopModule])).rejects.toThrow(
      'ResilienceModule is imported 2 times in this app (by PaymentsModule, ShopModule)',
    );
  });

  it('should fail the boot for forRoot() beside forRootAsync()', async () => {
    const fromFactory = ResilienceModule.forRootAsync({ useFactory: () => ({ metrics: false }) });

    await expect(compile([fromFactory, localResilience()])).rejects.toThrow(
      'ResilienceModule is imported 2 times in this app (by RootTestModule)',
    );
  });

  it('should share one module when the value of one forRoot() is imported by several modules', async () => {
    const resilience = localResilience();
    @Module({ imports: [resilience], providers: [PaymentsClient], exports: [PaymentsClient] })
    class PaymentsModule {}
    @Module({ imports: [resilience, PaymentsModule], controllers: [PayController, StateController] })
    class ShopModule {}

    const app = await start([ShopModule]);

    const http = request(app.getHttpServer());
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(503);
    await http.get('/state').expect(200, 'open');
  });

  it('should serve every module that imports a module of the app re-exporting it', async () => {
    @Module({ imports: [localResilience()], exports: [ResilienceModule] })
    class ResilienceWiring {}
    @Module({ imports: [ResilienceWiring], providers: [PaymentsClient], controllers: [PayController] })
    class PaymentsModule {}
    @Module({ imports: [ResilienceWiring], controllers: [StateController] })
    class StatusModule {}

    const app = await start([PaymentsModule, StatusModule]);

    const http = request(app.getHttpServer());
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(503);
    await http.get('/state').expect(200, 'open');
  });
});
