import { Controller, type ExecutionContext, Get, Query, UseInterceptors } from '@nestjs/common';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { CircuitBreakerInterceptor } from '../../src/nest/circuit-breaker.interceptor';
import { Retry } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp, type TestApp } from './nest-app.fixture';

const EXPECTED = 'a string or a number, at most 256 characters long';

/**
 * Keys straight from the query string: a hostile client sends what it likes (`?host=a&host=b`
 * is an array).
 */
class HostInterceptor extends CircuitBreakerInterceptor {
  protected override breakerName(): string {
    return 'tenants';
  }

  protected override breakerKey(context: ExecutionContext): string {
    return context.switchToHttp().getRequest<{ query: Record<string, string> }>().query.host;
  }
}

@Controller()
class ProxyController {
  constructor(private readonly registry: BreakerRegistry) {}

  /** A per-key breaker asked of the registry by the app's own code. */
  @Get('direct')
  direct(@Query('host') host: string): Promise<string> {
    return this.registry.get('direct', host).execute(() => `direct to ${host}`);
  }

  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get('proxy')
  proxy(@Query('host') host: string): string {
    return `proxied to ${host}`;
  }

  @Retry({ attempts: 1 })
  @CircuitBreaker('mirrors', { key: (host: string) => host })
  @Get('mirror')
  async mirror(@Query('host') host: string): Promise<string> {
    return `mirrored from ${host}`;
  }

  @UseInterceptors(HostInterceptor)
  @Get('tenant')
  tenant(): string {
    return 'tenant';
  }
}

/** The warnings the app writes, through Nest's logger. */
function recordWarnings(t: TestApp): string[] {
  const warnings: string[] = [];
  const ignore = () => undefined;
  t.app.useLogger({ log: ignore, error: ignore, warn: (message: string) => void warnings.push(message) });
  return warnings;
}

const first = (breaker: string, key: string) =>
  `Invalid key for circuit breaker "${breaker}": ${key}; expected ${EXPECTED}. ` +
  'The call was refused (HTTP 400); further invalid keys of this breaker are logged at most once a minute, counted';

const more = (breaker: string, key: string, count: number) =>
  `Invalid key for circuit breaker "${breaker}": ${key}; expected ${EXPECTED}. ` +
  `${count} more calls of this breaker were refused for an invalid key since the last warning; this key was the latest`;

describe('invalid per-key breaker keys from requests, in the log', () => {
  afterEach(closeAllApps);

  it.each([
    ['@CircuitBreaker', 'hosts', '/proxy'],
    ['@CircuitBreaker under a policy', 'mirrors', '/mirror'],
    ['CircuitBreakerInterceptor', 'tenants', '/tenant'],
    ['BreakerRegistry.get in the app’s own code', 'direct', '/direct'],
  ])(
    'should warn once of 100 bad keys (%s), naming the breaker and the key, and count the rest in one line on close',
    async (_how, breaker, path) => {
      // Metrics off (the fixture's default): the warnings are a log, not a series.
      const t = await createApp({ controllers: [ProxyController] });
      const warnings = recordWarnings(t);

      for (let i = 0; i < 50; i++) {
        await t
          .http()
          .get(path)
          .query({ host: `${i}`.padEnd(300, 'x') })
          .expect(400);
        await t.http().get(`${path}?host=a&host=${i}`).expect(400);
      }
      await t.http().get(path).query({ host: 'fine.example' }).expect(200);

      expect(warnings).toEqual([first(breaker, 'a string of 300 characters')]);
      expect(t.registry.all().map((b) => b.name)).toEqual([`${breaker}#fine.example`]);

      // Closing the app writes what it counted since (within the minute here).
      await t.close();
      expect(warnings.slice(1)).toEqual([more(breaker, 'a value of type object', 99)]);
    },
  );

  it('should keep the warnings of each breaker apart', async () => {
    const t = await createApp({ controllers: [ProxyController] });
    const warnings = recordWarnings(t);

    for (let i = 0; i < 3; i++) {
      await t.http().get('/proxy?host=a&host=b').expect(400);
      await t.http().get('/tenant?host=a&host=b').expect(400);
    }
    await t.close();

    expect(warnings).toEqual([
      first('hosts', 'a value of type object'),
      first('tenants', 'a value of type object'),
      more('hosts', 'a value of type object', 2),
      more('tenants', 'a value of type object', 2),
    ]);
  });
});
