import { Controller, Get, Param } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { SqliteStore } from '../../src/stores/sqlite.store';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { HealthModule } from '../terminus/health-app.fixture';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';

@Controller('quotes')
class QuotesController {
  @Get(':outcome')
  @CircuitBreaker('payments')
  quote(@Param('outcome') outcome: string): string {
    if (outcome === 'fail') throw new Error('payment API down');
    return 'quote';
  }
}

describe.each(SQLITE_TEST_DRIVERS)('ResilienceModule with the sqlite store on %s', (driver) => {
  const dir = useTempDir();
  const options = (): ResilienceModuleRootOptions => ({
    store: { type: 'sqlite', path: join(dir(), 'breakers.db'), driver },
    breakers: { payments: { failureThreshold: 2, openDuration: 60_000 } },
  });

  afterEach(closeAllApps);

  it('should keep an OPEN breaker open across an app restart', async () => {
    const first = await createApp({ controllers: [QuotesController] }, options());
    await first.http().get('/quotes/fail').expect(500);
    await first.http().get('/quotes/fail').expect(500);
    await first.http().get('/quotes/ok').expect(503);
    const { nextAttemptAt } = first.breaker('payments').snapshot();
    await first.close();

    const second = await createApp({ controllers: [QuotesController] }, options());
    const response = await second.http().get('/quotes/ok').expect(503);

    expect(response.body).toMatchObject({ breaker: 'payments', retryAfterMs: expect.any(Number) });
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(second.breaker('payments').snapshot()).toMatchObject({
      state: 'open',
      nextAttemptAt,
      rejected: 2,
    });
    expect(await second.registry.audit('payments')).toEqual([
      expect.objectContaining({
        action: 'transition',
        from: 'closed',
        to: 'open',
        reason: 'failure_threshold',
      }),
    ]);
  });

  it('should name its driver in the health details', async () => {
    const app = await createApp({ controllers: [QuotesController], imports: [HealthModule] }, options());
    await app.registry.get('payments').trip('incident 42', 'alice');

    const response = await app.http().get('/health/ready').expect(200);

    expect(response.body.details.circuit_breakers.store).toEqual({ type: 'sqlite', status: 'up', driver });
  });

  it('should keep a breaker tripped by hand in one app tripped in the next', async () => {
    const first = await createApp({ controllers: [QuotesController] }, options());
    await first.registry.get('payments').trip('incident 42', 'alice');
    await first.close();

    const second = await createApp({ controllers: [QuotesController] }, options());

    await second.http().get('/quotes/ok').expect(503);
    expect(second.breaker('payments').state).toBe('forced_open');
  });

  it('should let an in-flight call finish on shutdown, then flush and close the file, and let the process exit', async () => {
    const path = join(dir(), 'shutdown.db');
    const child = spawnTs(join(__dirname, '../support/nest-shutdown-child.ts'), [path, driver]);
    const exited = new Promise((resolve) => {
      child.once('exit', resolve);
      setTimeout(() => resolve('still running after 10 s'), 10_000).unref();
    });
    try {
      const events = (await readLines(child, 3)).map((line) => JSON.parse(line) as Record<string, unknown>);
      const code = await exited;

      expect(events).toEqual([
        { event: 'closing', inFlight: 1 },
        { event: 'response', status: 200, body: 'slow quote' },
        { event: 'closed' },
      ]);
      expect(code).toBe(0);
    } finally {
      await killHard(child);
    }

    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = sqliteDriver(driver).open(path);
    const { state } = db
      .prepare<[string], { state: string }>('SELECT state FROM breaker_state WHERE name = ?')
      .get('payments')!;
    db.close();
    expect(state).toBe('closed');
    const store = new SqliteStore({ type: 'sqlite', path, driver }, { warn: jest.fn(), error: jest.fn() });
    const registry = new BreakerRegistry({ breakers: { payments: {} }, auditLog: store.auditLog });
    store.attach(registry);
    await store.close();
    expect(registry.get('payments').snapshot()).toMatchObject({ calls: 1, successes: 1 });
  }, 30_000);
});
