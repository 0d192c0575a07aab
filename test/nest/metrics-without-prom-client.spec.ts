import { Logger } from '@nestjs/common';
import { BreakerRegistry } from '../../src/core/registry';
import { BreakerMetrics } from '../../src/nest/breaker.metrics';

/** What loading prom-client throws in each test: it plays an app that did not install it. */
let mockLoadError: Error;
jest.mock('prom-client', () => {
  throw mockLoadError;
});

const notFound = (module: string) =>
  Object.assign(new Error(`Cannot find module '${module}' from 'src/nest/breaker.metrics.ts'`), {
    code: 'MODULE_NOT_FOUND',
  });

describe('BreakerMetrics without prom-client installed', () => {
  let log: jest.SpyInstance;

  beforeEach(() => {
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('turns metrics off and says so in one log line, leaving the breakers working', async () => {
    mockLoadError = notFound('prom-client');
    const registry = new BreakerRegistry({ breakers: { payments: {} } });
    const metrics = new BreakerMetrics(registry, {});

    metrics.onModuleInit();
    await expect(registry.get('payments').execute(() => 'ok')).resolves.toBe('ok');
    registry.get('tenant', 'acme');
    registry.remove('tenant', 'acme');
    metrics.onModuleDestroy();

    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(/prom-client is not installed.*metrics are off.*metrics: false/);
  });

  it('says nothing with metrics: false', () => {
    mockLoadError = notFound('prom-client');
    const metrics = new BreakerMetrics(new BreakerRegistry(), { metrics: false });

    metrics.onModuleInit();

    expect(log).not.toHaveBeenCalled();
  });

  it('fails the boot when prom-client is installed but broken', () => {
    mockLoadError = notFound('tdigest');
    const metrics = new BreakerMetrics(new BreakerRegistry(), {});

    expect(() => metrics.onModuleInit()).toThrow("Cannot find module 'tdigest'");
  });
});
