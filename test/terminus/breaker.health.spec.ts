import { Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerRegistry } from '../../src/core/registry';
import { BreakerHealthIndicator } from '../../src/terminus/breaker.health';
import { DEGRADED_STATUS } from '../support/peers';
import { NO_BREAKERS } from './health-app.fixture';

let now = 1_700_000_000_000;
const clock = { now: () => now };

function indicatorFor(breakers: Record<string, BreakerOptions>) {
  const registry = new BreakerRegistry({ clock, breakers });
  return { registry, indicator: new BreakerHealthIndicator(new HealthIndicatorService(), registry) };
}

const openByFailure = (registry: BreakerRegistry, name: string) =>
  expect(
    registry.get(name).execute(() => {
      throw new Error('down');
    }),
  ).rejects.toThrow('down');

const closed = { state: 'closed', failureRate: 0, nextAttemptAt: null, critical: false };

afterEach(() => jest.restoreAllMocks());

describe('BreakerHealthIndicator', () => {
  it('is degraded, never down, while its store is down, and shows the store', () => {
    const registry = new BreakerRegistry({ clock, breakers: { payments: { critical: true } } });
    const store = { status: () => ({ type: 'sqlite', status: 'down', driver: 'node:sqlite' }) };
    const indicator = new BreakerHealthIndicator(new HealthIndicatorService(), registry, store as never);

    expect(indicator.isHealthy().circuit_breakers).toMatchObject({
      closed: 1,
      store: { type: 'sqlite', status: 'down', driver: 'node:sqlite' },
      status: DEGRADED_STATUS,
    });
  });

  it('is up with every breaker closed, and counts breakers by state', () => {
    const { indicator } = indicatorFor({ payments: {}, llm: {} });

    expect(indicator.isHealthy()).toEqual({
      circuit_breakers: {
        total: 2,
        closed: 2,
        open: 0,
        half_open: 0,
        forced_open: 0,
        disabled: 0,
        breakers: { payments: closed, llm: closed },
        keys: {},
        status: 'up',
      },
    });
  });

  it('is up with no breakers at all', () => {
    const { indicator } = indicatorFor({});

    expect(indicator.isHealthy()).toEqual({ circuit_breakers: { ...NO_BREAKERS, status: 'up' } });
  });

  it('reports under the key it is given', () => {
    const { indicator } = indicatorFor({ payments: {} });

    expect(Object.keys(indicator.isHealthy('dependencies'))).toEqual(['dependencies']);
  });

  it('is degraded when a breaker that is not critical is open, with when it will try again', async () => {
    const { registry, indicator } = indicatorFor({
      payments: {},
      llm: { failureThreshold: 1, openDuration: 30_000 },
    });
    await openByFailure(registry, 'llm');

    expect(indicator.isHealthy()).toEqual({
      circuit_breakers: {
        total: 2,
        closed: 1,
        open: 1,
        half_open: 0,
        forced_open: 0,
        disabled: 0,
        breakers: {
          payments: closed,
          llm: { state: 'open', failureRate: 1, nextAttemptAt: now + 30_000, critical: false },
        },
        keys: {},
        status: DEGRADED_STATUS,
      },
    });
  });

  it('is down when a critical breaker is open', async () => {
    const { registry, indicator } = indicatorFor({
      payments: { critical: true, failureThreshold: 1 },
      llm: {},
    });
    await openByFailure(registry, 'payments');

    const result = indicator.isHealthy();

    expect(result.circuit_breakers).toMatchObject({ status: 'down', open: 1, closed: 1 });
    expect(result.circuit_breakers.breakers).toMatchObject({ payments: { state: 'open', critical: true } });
  });

  it('is down when a critical breaker is forced open', async () => {
    const { registry, indicator } = indicatorFor({ payments: { critical: true } });
    await registry.get('payments').trip();

    expect(indicator.isHealthy().circuit_breakers).toMatchObject({
      keys: {},
      status: 'down',
      forced_open: 1,
      breakers: { payments: { state: 'forced_open', nextAttemptAt: null } },
    });
  });

  it('is degraded, not down, while a critical breaker is half-open: it shows the state the breaker has now', async () => {
    const { registry, indicator } = indicatorFor({
      payments: { critical: true, failureThreshold: 1, openDuration: 30_000 },
    });
    await openByFailure(registry, 'payments');
    expect(indicator.isHealthy().circuit_breakers.status).toBe('down');

    now += 30_000;

    expect(indicator.isHealthy().circuit_breakers).toMatchObject({
      keys: {},
      status: DEGRADED_STATUS,
      open: 0,
      half_open: 1,
      breakers: { payments: { state: 'half_open', nextAttemptAt: null } },
    });
  });

  it('is degraded when a breaker is disabled, critical or not: its calls run unprotected', async () => {
    const { registry, indicator } = indicatorFor({ payments: { critical: true } });
    await registry.get('payments').disable();

    expect(indicator.isHealthy().circuit_breakers).toMatchObject({
      keys: {},
      status: DEGRADED_STATUS,
      disabled: 1,
      closed: 0,
    });
  });

  describe('per-key breakers', () => {
    const failKey = (registry: BreakerRegistry, name: string, key: string) =>
      expect(
        registry.get(name, key).execute(() => {
          throw new Error('down');
        }),
      ).rejects.toThrow('down');

    it('counts them by state under their name, and lists only named breakers: the answer does not grow with keys', async () => {
      const small = indicatorFor({ hosts: { failureThreshold: 1 } });
      await failKey(small.registry, 'hosts', 'h0');
      const large = indicatorFor({ hosts: { failureThreshold: 1 } });
      for (let i = 0; i < 1_000; i++) large.registry.get('hosts', `h${i}`);
      for (let i = 0; i < 10; i++) await failKey(large.registry, 'hosts', `h${i}`);

      const report = large.indicator.isHealthy().circuit_breakers;

      expect(report).toMatchObject({ total: 1_001, closed: 991, open: 10, status: DEGRADED_STATUS });
      expect(Object.keys(report.breakers)).toEqual(['hosts']);
      expect(report.keys).toEqual({
        hosts: { total: 1_000, closed: 990, open: 10, half_open: 0, forced_open: 0, disabled: 0 },
      });
      const size = (indicator: BreakerHealthIndicator) => JSON.stringify(indicator.isHealthy()).length;
      expect(size(large.indicator) - size(small.indicator)).toBeLessThan(20);
    });

    it('lists each of them by its full name too with perKey: true', () => {
      const { registry, indicator } = indicatorFor({ tenant: {} });
      registry.get('tenant', 'acme');

      const report = indicator.isHealthy('circuit_breakers', { perKey: true }).circuit_breakers;

      expect(Object.keys(report.breakers)).toEqual(['tenant', 'tenant#acme']);
      expect(report.keys).toEqual({
        tenant: { total: 1, closed: 1, open: 0, half_open: 0, forced_open: 0, disabled: 0 },
      });
    });

    it('never reports one under the name of a configured breaker, nor goes down because one is open', async () => {
      const { registry, indicator } = indicatorFor({
        hosts: { failureThreshold: 1, critical: true },
        'hosts:internal': { critical: true },
      });
      await failKey(registry, 'hosts', 'internal');

      for (const perKey of [false, true]) {
        const report = indicator.isHealthy('circuit_breakers', { perKey }).circuit_breakers;

        expect(report.status).toBe(DEGRADED_STATUS);
        expect(report.breakers['hosts:internal']).toEqual({ ...closed, critical: true });
        expect(report).toMatchObject({ total: 3, closed: 2, open: 1 });
      }
    });

    it('keeps a named breaker called like an Object.prototype member as an entry like any other', () => {
      const { indicator } = indicatorFor(JSON.parse('{ "__proto__": {}, "constructor": {} }'));

      const report = indicator.isHealthy().circuit_breakers;

      expect(Object.keys(report.breakers)).toEqual(['__proto__', 'constructor']);
      expect(JSON.stringify(report.breakers)).toBe(
        `{"__proto__":${JSON.stringify(closed)},"constructor":${JSON.stringify(closed)}}`,
      );
    });
  });

  it('reports down instead of throwing when the breakers cannot be read', () => {
    const { registry, indicator } = indicatorFor({});
    jest.spyOn(registry, 'all').mockImplementation(() => {
      throw new Error('registry gone');
    });
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);

    expect(indicator.isHealthy()).toEqual({
      circuit_breakers: {
        message: 'could not read the circuit breakers: Error: registry gone',
        status: 'down',
      },
    });
    expect(logged).toHaveBeenCalledTimes(1);
  });
});
