/**
 * Every breaker an app has can be reached by the admin API: a breaker named "." or ".." (which
 * a URL reads as a step in its path, even written %2E) fails the boot, naming it and what is
 * expected, wherever the name comes from. Keys come from requests: "." and ".." are keys like
 * any other (the breaker is `hosts#..`, reachable), and a bad key still answers 400.
 */
import type { AddressInfo } from 'node:net';
import { Controller, Get, Injectable, type ModuleMetadata, Query } from '@nestjs/common';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Resilient } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { ADMIN_TOKEN } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const EXPECTED =
  'a name other than "." and "..": a URL reads them as steps in its path (even written %2E), ' +
  'so the admin API and the CLI could never reach the breaker';

@Injectable()
class DotClient {
  @CircuitBreaker('.')
  async call(): Promise<string> {
    return 'ok';
  }
}

@Injectable()
class DotsPerKeyClient {
  @CircuitBreaker('..', { key: (host: string) => host })
  async call(host: string): Promise<string> {
    return host;
  }
}

@Injectable()
class DotsPolicyClient {
  @Resilient('upstream')
  async call(): Promise<string> {
    return 'ok';
  }
}

@Controller()
class ProxyController {
  @CircuitBreaker('hosts', { key: (host: string) => host })
  @Get('proxy')
  proxy(@Query('host') host: string): string {
    return `proxied to ${host}`;
  }
}

describe('breaker names the admin API cannot reach', () => {
  afterEach(closeAllApps);

  const inBreaker = (name: string) =>
    `Invalid option for circuit breaker "${name}": name = "${name}"; expected ${EXPECTED}`;

  it.each<[string, ModuleMetadata, ResilienceModuleRootOptions, string, string]>([
    ['configured in forRoot', {}, { breakers: { payments: {}, '..': {} } }, '..', inBreaker('..')],
    ['named by @CircuitBreaker', { providers: [DotClient] }, {}, '.', inBreaker('.')],
    ['named by a per-key @CircuitBreaker', { providers: [DotsPerKeyClient] }, {}, '..', inBreaker('..')],
    [
      'named by a policy',
      { providers: [DotsPolicyClient] },
      { policies: { upstream: { breaker: '..', retry: { attempts: 2 } } } },
      'upstream',
      `Invalid option for policy "upstream": breaker = ".."; expected ${EXPECTED}`,
    ],
  ])(
    'fail the boot when %s, naming the breaker and what is expected',
    async (_, metadata, options, at, message) => {
      await expect(createApp(metadata, { admin: { token: ADMIN_TOKEN }, ...options })).rejects.toMatchObject({
        code: 'INVALID_BREAKER_OPTIONS',
        breaker: at,
        message,
      });
    },
  );

  it('keep keys "." and "..", reachable over real HTTP, and answer a bad key 400', async () => {
    const t = await createApp({ controllers: [ProxyController] }, { admin: { token: ADMIN_TOKEN } });
    await t.app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;

    for (const host of ['.', '..']) {
      const proxied = await fetch(`${base}/proxy?host=${encodeURIComponent(host)}`);
      expect([proxied.status, await proxied.text()]).toEqual([200, `proxied to ${host}`]);
      const shown = await fetch(`${base}/resilience/breakers/${encodeURIComponent(`hosts#${host}`)}`, {
        headers: auth,
      });
      expect(shown.status).toBe(200);
      expect(await shown.json()).toMatchObject({ name: `hosts#${host}`, state: 'closed' });
    }

    const hostile = await fetch(`${base}/proxy?host=..&host=.`);
    expect(hostile.status).toBe(400);
    expect(await hostile.json()).toMatchObject({
      breaker: 'hosts',
      message: expect.stringMatching(/^Invalid key for circuit breaker "hosts": /),
    });
    expect(t.registry.all().map((b) => b.name)).toEqual(['hosts#.', 'hosts#..']);
  });
});
