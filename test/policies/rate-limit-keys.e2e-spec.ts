import { Controller, Get, Headers, Injectable } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { RpcException } from '@nestjs/microservices';
import { firstValueFrom, Observable, of } from 'rxjs';
import { InvalidRateLimitKeyError } from '../../src/core/errors';
import { answerFor } from '../../src/nest/error-mapping/error-answers';
import { graphqlErrorFor } from '../../src/nest/error-mapping/graphql-answer';
import { rpcAnswerFor } from '../../src/nest/error-mapping/rpc-answer';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Bulkhead, RateLimit, Resilient } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp, type TestApp } from '../nest/nest-app.fixture';

const EXPECTED = 'a string or a number, at most 256 characters long';

@Controller()
class SearchController {
  @RateLimit({ limit: 1, interval: 60_000, key: (tenant: string) => tenant })
  @Get('search')
  async search(@Headers('x-tenant') tenant: string | undefined): Promise<string> {
    return `results for ${tenant}`;
  }
}

describe('rate-limit keys from requests, over HTTP', () => {
  afterEach(closeAllApps);

  it('should answer 400 naming the policy for a key no bucket can have, and keep each valid key apart', async () => {
    const t = await createApp({ controllers: [SearchController] });

    const tooLong = await t.http().get('/search').set('x-tenant', 'x'.repeat(300)).expect(400);
    expect(tooLong.headers['retry-after']).toBeUndefined();
    expect(tooLong.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `Policy "SearchController.search": invalid rate-limit key: a string of 300 characters; expected ${EXPECTED}`,
      code: 'INVALID_RATE_LIMIT_KEY',
      policy: 'SearchController.search',
      expected: EXPECTED,
    });
    // No tenant: no longer the bucket of every request without one.
    const missing = await t.http().get('/search').expect(400);
    expect(missing.body).toMatchObject({
      code: 'INVALID_RATE_LIMIT_KEY',
      message: expect.stringContaining('undefined'),
    });

    await t.http().get('/search').set('x-tenant', 'a').expect(200, 'results for a');
    await t.http().get('/search').set('x-tenant', 'a').expect(429);
    await t.http().get('/search').set('x-tenant', 'b').expect(200);
  });
});

describe('invalid rate-limit keys, in the log', () => {
  afterEach(closeAllApps);

  /** The warnings the app writes, through Nest's logger. */
  function recordWarnings(t: TestApp): string[] {
    const warnings: string[] = [];
    const ignore = () => undefined;
    t.app.useLogger({ log: ignore, error: ignore, warn: (message: string) => void warnings.push(message) });
    return warnings;
  }

  it('should warn once of a flood of them, naming the policy, and count the rest in one line', async () => {
    // Metrics off (the fixture's default): the warnings are a log, not a series.
    const t = await createApp({ controllers: [SearchController] });
    const warnings = recordWarnings(t);

    for (let i = 0; i < 50; i++) {
      await t.http().get('/search').set('x-tenant', `${i}`.padEnd(300, 'x')).expect(400);
      await t.http().get('/search').expect(400);
    }
    expect(warnings).toEqual([
      `Policy "SearchController.search": invalid rate-limit key: a string of 300 characters; expected ${EXPECTED}. ` +
        'The call was refused (HTTP 400); further invalid keys of this policy are logged at most once a minute, counted',
    ]);

    // Closing the app writes what it counted since (within the minute here).
    await t.close();
    expect(warnings.slice(1)).toEqual([
      `Policy "SearchController.search": invalid rate-limit key: a value of type undefined; expected ${EXPECTED}. ` +
        '99 more calls of this policy were refused for an invalid rate-limit key since the last warning; this key was the latest',
    ]);
  });
});

describe('An invalid rate-limit key, as each transport answers it', () => {
  const error = new InvalidRateLimitKeyError('search', { id: 1 }, EXPECTED);
  const message = `Policy "search": invalid rate-limit key: a value of type object; expected ${EXPECTED}`;

  it('answers RPC clients { code: INVALID_RATE_LIMIT_KEY, message, policy }', () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;

    expect((rpcAnswerFor(host, answerFor(error)!) as RpcException).getError()).toEqual({
      code: 'INVALID_RATE_LIMIT_KEY',
      message,
      policy: 'search',
    });
  });

  it('answers GraphQL clients BAD_USER_INPUT with the policy, as an invalid breaker key', () => {
    const graphqlError = graphqlErrorFor(answerFor(error)!, error);

    expect(graphqlError.message).toBe(message);
    expect(graphqlError.extensions).toEqual({ code: 'BAD_USER_INPUT', policy: 'search' });
  });
});

@Injectable()
class Hosts {
  calls = 0;

  @RateLimit({ limit: 1, interval: 60_000 })
  @CircuitBreaker('hosts', { key: (host: string) => host })
  async fetch(host: string): Promise<string> {
    this.calls++;
    return host;
  }

  @Bulkhead({ maxConcurrent: 1 })
  @CircuitBreaker('slow', { key: (host: string) => host })
  async slow(host: string, done: Promise<void>): Promise<string> {
    await done;
    return host;
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @CircuitBreaker('streams', { key: (host: string) => host })
  stream(host: string): Observable<string> {
    return of(host);
  }
}

describe('per-key breakers behind a rate limit or a bulkhead', () => {
  afterEach(closeAllApps);

  const code = (call: Promise<unknown>) => call.then(String, (e: { code: string }) => e.code);

  it("should create no breaker for a call the rate limit refused: a flood of new keys evicts no one's breaker", async () => {
    const t = await createApp({ providers: [Hosts] }, { maxKeysPerBreaker: 50 });
    const hosts = t.app.get(Hosts);
    expect(await code(hosts.fetch('legit.example'))).toBe('legit.example');
    await t.breaker('hosts', 'legit.example').trip('test');

    const outcomes = new Set<string>();
    for (let i = 0; i < 200; i++) outcomes.add(await code(hosts.fetch(`attacker-${i}`)));

    expect([...outcomes]).toEqual(['RATE_LIMITED']);
    expect(hosts.calls).toBe(1);
    expect(t.registry.all().map((b) => [b.name, b.state])).toEqual([['hosts#legit.example', 'forced_open']]);
  });

  it('should create no breaker for a call a full bulkhead refused', async () => {
    const t = await createApp({ providers: [Hosts] });
    const hosts = t.app.get(Hosts);
    let done!: () => void;
    const running = hosts.slow('a', new Promise<void>((resolve) => (done = resolve)));

    try {
      expect(await code(hosts.slow('b', Promise.resolve()))).toBe('BULKHEAD_FULL');
      expect(t.registry.has('slow', 'b')).toBe(false);
    } finally {
      done();
    }
    expect(await running).toBe('a');
    expect(t.registry.has('slow', 'a')).toBe(true);
  });

  it('should create no breaker for an Observable the rate limit refused', async () => {
    const t = await createApp({ providers: [Hosts] });
    const hosts = t.app.get(Hosts);

    expect(await firstValueFrom(hosts.stream('a'))).toBe('a');
    expect(await code(firstValueFrom(hosts.stream('b')))).toBe('RATE_LIMITED');
    expect([t.registry.has('streams', 'a'), t.registry.has('streams', 'b')]).toEqual([true, false]);
  });

  it('should still refuse a bad breaker key before the rate limit, taking no token', async () => {
    const t = await createApp({ providers: [Hosts] });
    const hosts = t.app.get(Hosts);

    expect(await code(hosts.fetch({ host: 'a' } as unknown as string))).toBe('INVALID_BREAKER_KEY');
    expect(await code(hosts.fetch('a'))).toBe('a');
    expect(hosts.calls).toBe(1);
  });
});

@Injectable()
class Tenants {
  tenantOf(user: string): string {
    return user.split('@')[1];
  }

  @RateLimit({
    limit: 1,
    interval: 60_000,
    key: function (this: Tenants, user: string) {
      return this.tenantOf(user);
    },
  })
  async search(user: string): Promise<string> {
    return `results for ${user}`;
  }

  @Resilient('reports')
  async report(user: string): Promise<string> {
    return `report for ${user}`;
  }
}

describe("a rate limit's key function", () => {
  afterEach(closeAllApps);

  it("should be called with the instance as this, as @CircuitBreaker's, for a decorator's and a named policy's", async () => {
    const t = await createApp(
      { providers: [Tenants] },
      {
        policies: {
          reports: {
            rateLimit: {
              limit: 1,
              interval: 60_000,
              key: function (this: Tenants, user: string) {
                return this.tenantOf(user);
              },
            },
          },
        },
      },
    );
    const tenants = t.app.get(Tenants);
    const code = (call: Promise<unknown>) =>
      call.then(String, (e: { code?: string; message: string }) => e.code ?? e.message);

    expect([
      await code(tenants.search('ann@acme')),
      await code(tenants.search('bob@acme')),
      await code(tenants.search('cy@initech')),
    ]).toEqual(['results for ann@acme', 'RATE_LIMITED', 'results for cy@initech']);
    expect([await code(tenants.report('ann@acme')), await code(tenants.report('bob@acme'))]).toEqual([
      'report for ann@acme',
      'RATE_LIMITED',
    ]);
  });
});
