import {
  ConsoleLogger,
  Controller,
  Get,
  Inject,
  Injectable,
  Logger,
  Module,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { InvalidBreakerOptionsError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { getBreakerSignal } from '../../src/nest/breaker-call';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import type { ResilienceModuleOptions } from '../../src/nest/resilience-options.interface';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { ResilienceOptionsFactory } from '../../src/nest/resilience.module-definition';
import { MemoryStore } from '../../src/stores/memory.store';
import { closeAllApps, closeApp, createApp } from './nest-app.fixture';

afterEach(async () => {
  await closeAllApps();
  jest.restoreAllMocks();
});

@Injectable()
class PaymentsClient {
  calls = 0;
  pending: Array<() => void> = [];

  @CircuitBreaker('payments')
  async charge(): Promise<string> {
    this.calls++;
    return 'charged';
  }

  /** Resolves when the test calls the function it pushed to `pending`. */
  @CircuitBreaker('payments')
  chargeSlowly(): Promise<string> {
    return new Promise((resolve) => this.pending.push(() => resolve('charged slowly')));
  }

  /** Never settles by itself; resolves with the abort reason once the breaker's timeout aborts it. */
  @CircuitBreaker('slow')
  async waitForAbort(): Promise<unknown> {
    const signal = getBreakerSignal();
    return new Promise((resolve) => signal?.addEventListener('abort', () => resolve(signal.reason)));
  }
}

@Controller()
class PaymentsController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @Get('charge')
  charge(): Promise<string> {
    return this.payments.charge();
  }
}

/** A feature module that does not import ResilienceModule: the global module serves it. */
@Module({ controllers: [PaymentsController], providers: [PaymentsClient] })
class PaymentsModule {}

const CONFIG = { breakers: { payments: { failureThreshold: 2 }, llm: { preset: 'llm' } } } as const;

@Injectable()
class ConfigService {
  get(): ResilienceModuleOptions {
    return { ...CONFIG, metrics: false };
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Injectable()
class ResilienceConfig implements ResilienceOptionsFactory {
  createResilienceOptions(): ResilienceModuleOptions {
    return { ...CONFIG, metrics: false };
  }
}

@Module({ providers: [ResilienceConfig], exports: [ResilienceConfig] })
class ResilienceConfigModule {}

async function boot(resilience: ReturnType<typeof ResilienceModule.forRoot>): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [resilience, PaymentsModule] }).compile();
  return moduleRef.createNestApplication({ logger: false }).init();
}

describe('ResilienceModule configuration', () => {
  it.each([
    ['forRoot', () => ResilienceModule.forRoot({ ...CONFIG, metrics: false })],
    [
      'forRootAsync with useFactory',
      () =>
        ResilienceModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: async (config: ConfigService) => config.get(),
        }),
    ],
    ['forRootAsync with useClass', () => ResilienceModule.forRootAsync({ useClass: ResilienceConfig })],
    [
      'forRootAsync with useExisting',
      () =>
        ResilienceModule.forRootAsync({ imports: [ResilienceConfigModule], useExisting: ResilienceConfig }),
    ],
  ])(
    'should create every configured breaker at start-up with %s, for every module',
    async (_, resilience) => {
      const app = await boot(resilience());
      try {
        const registry = app.get(BreakerRegistry);
        expect(registry.all().map((b) => b.name)).toEqual(['payments', 'llm', 'slow']);
        expect(registry.get('payments').options.failureThreshold).toBe(2);
        expect(registry.get('llm').options.timeout).toBe(120_000);

        await request(app.getHttpServer()).get('/charge').expect(200, 'charged');
        expect(registry.get('payments').snapshot().calls).toBe(1);
      } finally {
        await closeApp(app);
      }
    },
  );

  it('should create a breaker a decorator names but the options do not, from defaults, at start-up', async () => {
    const t = await createApp({ imports: [PaymentsModule] }, { defaults: { openDuration: 5_000 } });
    expect(t.registry.has('payments')).toBe(true);
    expect(t.breaker('payments').options.openDuration).toBe(5_000);
  });

  it.each([
    ['forRoot', () => ResilienceModule.forRoot({ breakers: { payments: { failureRateThreshold: 2 } } })],
    [
      'forRootAsync',
      () =>
        ResilienceModule.forRootAsync({
          useFactory: () => ({ breakers: { payments: { failureRateThreshold: 2 } } }),
        }),
    ],
  ])(
    'should fail the boot on an invalid breaker option given to %s, naming breaker and key',
    async (_, resilience) => {
      const compiling = Test.createTestingModule({ imports: [resilience()] }).compile();
      await expect(compiling).rejects.toBeInstanceOf(InvalidBreakerOptionsError);
      await expect(compiling).rejects.toMatchObject({
        breaker: 'payments',
        key: 'failureRateThreshold',
        value: 2,
      });
    },
  );

  it('should fail the boot on an unknown module option, naming it and the known ones', async () => {
    const options = { breaker: { payments: { preset: 'http' } } } as unknown as ResilienceModuleOptions;
    const compiling = Test.createTestingModule({
      imports: [ResilienceModule.forRootAsync({ useFactory: () => options })],
    }).compile();

    await expect(compiling).rejects.toMatchObject({
      code: 'INVALID_BREAKER_OPTIONS',
      scope: 'module',
      key: 'breaker',
      message: expect.stringMatching(/^Invalid option in module: breaker = .*known: defaults, breakers,/),
    });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['store', { store: { type: 'memory', flushInterval: 100 } }, 'store.flushInterval', 'known: type'],
    [
      'store',
      { store: { type: 'sqlite', path: 'state.db', flushInteval: 100 } },
      'store.flushInteval',
      'known: type, path, flushInterval',
    ],
    ['metrics', { metrics: { prefx: 'shop_' } }, 'metrics.prefx', 'known: registry, prefix'],
  ])(
    'should fail the boot on an unknown key in %s, naming it and the known ones',
    async (scope, options, key, known) => {
      const compiling = Test.createTestingModule({
        imports: [ResilienceModule.forRootAsync({ useFactory: () => options as ResilienceModuleOptions })],
      }).compile();

      await expect(compiling).rejects.toMatchObject({
        code: 'INVALID_BREAKER_OPTIONS',
        scope,
        key,
        message: expect.stringContaining(`Invalid option in ${scope}: ${key} = `),
      });
      await expect(compiling).rejects.toMatchObject({ message: expect.stringContaining(known) });
    },
  );

  it.each<[string, unknown]>([
    ['shutdownTimeout', Infinity],
    ['shutdownTimeout', 2 ** 31],
    ['maxKeysPerBreaker', 2 ** 24],
  ])('should fail the boot on %s = %p, beyond what the runtime can do', async (key, value) => {
    const compiling = Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ [key]: value, metrics: false })],
    }).compile();

    await expect(compiling).rejects.toMatchObject({ code: 'INVALID_BREAKER_OPTIONS', scope: 'module', key });
  });

  it('should fail the boot when a fallback names no method of its class', async () => {
    @Injectable()
    class TyposClient {
      @CircuitBreaker('typos', { fallback: 'cachedQoute' })
      async quote(): Promise<string> {
        return 'quote';
      }

      cachedQuote(): string {
        return 'cached';
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false })],
      providers: [TyposClient],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await expect(app.init()).rejects.toMatchObject({
        code: 'INVALID_BREAKER_OPTIONS',
        breaker: 'typos',
        key: 'fallback',
        value: 'cachedQoute',
        message: expect.stringContaining('expected the name of a method of TyposClient'),
      });
    } finally {
      await app.close();
    }
  });
});

describe('without ResilienceModule', () => {
  it('should run the method unprotected and warn once per breaker', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const client = new PaymentsClient();

    await expect(client.charge()).resolves.toBe('charged');
    await expect(client.charge()).resolves.toBe('charged');

    expect(client.calls).toBe(2);
    const warnings = warn.mock.calls.filter(([message]) => String(message).includes('"payments"'));
    expect(warnings).toEqual([[expect.stringContaining('no ResilienceModule is initialised')]]);
  });
});

describe('several apps in one process', () => {
  it('should give each app its own breakers, even for the same classes', async () => {
    const first = await createApp({ imports: [PaymentsModule] });
    const second = await createApp({ imports: [PaymentsModule] });

    await first.breaker('payments').trip();

    await first.http().get('/charge').expect(503);
    await second.http().get('/charge').expect(200, 'charged');
    expect(second.breaker('payments').snapshot().calls).toBe(1);
    await first.close();
    await second.http().get('/charge').expect(200, 'charged');
  });

  it('should start every app with fresh breakers', async () => {
    const first = await createApp({ imports: [PaymentsModule] });
    await first.breaker('payments').trip();
    await first.close();

    const next = await createApp({ imports: [PaymentsModule] });
    expect(next.breaker('payments').state).toBe('closed');
    await next.http().get('/charge').expect(200);
  });
});

describe('state-change logs', () => {
  /** What Nest's own console logger prints while `act` runs, line by line. */
  async function printedLines(act: (registry: BreakerRegistry) => Promise<void>): Promise<string[]> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({ metrics: false, breakers: { payments: { failureThreshold: 3 } } }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: new ConsoleLogger({ colors: false }) });
    await app.init();
    const printed: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await act(app.get(BreakerRegistry));
    } finally {
      jest.restoreAllMocks();
      await app.close();
    }
    return printed
      .join('')
      .split('\n')
      .filter((line) => line !== '');
  }

  it('should print one line per state change: a warning on opening, a log line on closing', async () => {
    const lines = await printedLines(async (registry) => {
      await registry.get('payments').trip('maintenance', 'alice');
      await registry.get('payments').reset({ force: true });
    });

    expect(lines).toEqual([
      expect.stringMatching(
        /WARN \[CircuitBreaker\] Circuit breaker "payments" closed -> forced_open \(maintenance by alice, failure rate 0%\)$/,
      ),
      expect.stringMatching(
        /LOG \[CircuitBreaker\] Circuit breaker "payments" forced_open -> closed \(manual reset, failure rate 0%\)$/,
      ),
    ]);
  });

  it('should print the rate that opened a breaker, and 0% once it closed again', async () => {
    const lines = await printedLines(async (registry) => {
      const breaker = registry.get('payments');
      await breaker.execute(() => 'ok');
      for (let i = 0; i < 3; i++)
        await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow();
      await breaker.reset({ force: true, reason: 'recovered' });
    });

    expect(lines).toEqual([
      expect.stringMatching(/closed -> open \(failure_threshold, failure rate 75%\)$/),
      expect.stringMatching(/open -> closed \(recovered, failure rate 0%\)$/),
    ]);
  });

  it('should print a reason and an actor from a request on its one line, escaped', async () => {
    const lines = await printedLines(async (registry) => {
      await registry.get('payments').trip('maintenance)\n[Nest] LOG forged line', 'eve\u001b[2K');
    });

    expect(lines).toEqual([
      expect.stringMatching(
        /closed -> forced_open \(maintenance\)\\n\[Nest\] LOG forged line by eve\\u001b\[2K, failure rate 0%\)$/,
      ),
    ]);
  });

  it("should say a transition came from the fleet, without this instance's rate", async () => {
    const lines = await printedLines(async (registry) => {
      registry.get('payments').applyRemote({
        to: 'open',
        openedAt: Date.now(),
        until: Date.now() + 30_000,
        openDuration: 30_000,
        reason: 'failure_threshold',
      });
    });

    expect(lines).toEqual([
      expect.stringMatching(/"payments" closed -> open \(by the fleet: failure_threshold\)$/),
    ]);
  });
});

describe('timeouts', () => {
  it('should abort the signal getBreakerSignal() gives the decorated method when its timeout expires', async () => {
    const t = await createApp({ imports: [PaymentsModule] }, { breakers: { slow: { timeout: 10 } } });
    const client = t.app.get(PaymentsClient);
    await expect(client.waitForAbort()).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT', breaker: 'slow' });
    expect(getBreakerSignal()).toBeUndefined();
  });

  it('should make no AbortSignal for a timed decorated call that never reads its signal', async () => {
    const t = await createApp({ imports: [PaymentsModule] }, { breakers: { payments: { timeout: 1_000 } } });
    const client = t.app.get(PaymentsClient);
    const created = jest.spyOn(globalThis, 'AbortController');

    await expect(client.charge()).resolves.toBe('charged');
    await expect(Promise.all([client.charge(), client.charge()])).resolves.toEqual(['charged', 'charged']);

    expect(created).not.toHaveBeenCalled();
    expect(t.breaker('payments').snapshot()).toMatchObject({ successes: 3, inFlight: 0 });
  });
});

describe('shutdown', () => {
  it('should wait for protected calls in flight, then close the store', async () => {
    const closeStore = jest.spyOn(MemoryStore.prototype, 'close');
    const t = await createApp({ imports: [PaymentsModule] });
    const client = t.app.get(PaymentsClient);
    const call = client.chargeSlowly();
    expect(t.breaker('payments').inFlight).toBe(1);

    let closed = false;
    const closing = t.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    expect(closeStore).not.toHaveBeenCalled();

    client.pending[0]();
    await closing;
    await expect(call).resolves.toBe('charged slowly');
    expect(closeStore).toHaveBeenCalledTimes(1);
  });

  it('should stop waiting after shutdownTimeout and say so', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const t = await createApp({ imports: [PaymentsModule] }, { shutdownTimeout: 30 });
    void t.app.get(PaymentsClient).chargeSlowly();

    await t.close();

    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'protected calls still running after shutdownTimeout (30 ms): 1 in breakers, 0 through policies, 0 dead letter(s) being written',
      ),
    );
  });

  it('should fail the boot on an invalid shutdownTimeout', async () => {
    const compiling = Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false, shutdownTimeout: -1 })],
    }).compile();
    await expect(compiling).rejects.toMatchObject({ key: 'shutdownTimeout', value: -1 });
  });

  it('should bound named breakers by maxBreakers, configured ones included', async () => {
    const t = await createApp({}, { maxBreakers: 2, breakers: { payments: {} } });
    t.registry.get('llm');

    expect(() => t.registry.get('/users/42')).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_BREAKERS', limit: 2 }),
    );
  });

  it('should leave the decorated methods of a closed app unprotected again', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const t = await createApp({ imports: [PaymentsModule] });
    const client = t.app.get(PaymentsClient);
    await t.breaker('payments').trip();
    await t.close();

    await expect(client.charge()).resolves.toBe('charged');
  });
});
