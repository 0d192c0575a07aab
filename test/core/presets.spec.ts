import { Breaker } from '../../src/core/breaker';
import { PRESETS } from '../../src/core/presets';
import { breakerOn, fail, fakeClock, succeed } from './breaker-test-kit';

describe('Presets', () => {
  it.each([
    ['http', 30_000, 5],
    ['llm', 120_000, 3],
    ['database', 10_000, 10],
    ['notification', 60_000, 10],
    ['cache', 20_000, 8],
  ] as const)('%s sets timeout %i ms and failureThreshold %i', (preset, timeout, failureThreshold) => {
    const options = new Breaker('dep', { preset }).options;

    expect(options).toMatchObject({ preset, timeout, failureThreshold });
  });

  it('offers exactly the five documented presets', () => {
    expect(Object.keys(PRESETS).sort()).toEqual(['cache', 'database', 'http', 'llm', 'notification']);
  });

  it("opens after the preset's number of failures", async () => {
    const breaker = breakerOn(fakeClock(), { preset: 'llm' });

    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    await fail(breaker);

    expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 3 });
  });

  it("lets the breaker's own options override its preset", () => {
    expect(new Breaker('llm', { preset: 'llm', timeout: 5_000, failureThreshold: 1 }).options).toMatchObject({
      timeout: 5_000,
      failureThreshold: 1,
    });
  });

  it('merges preset < defaults < own options', () => {
    const breaker = new Breaker(
      'payments',
      { preset: 'http', openDuration: 20_000 },
      { defaults: { timeout: 5_000, openDuration: 10_000, critical: true } },
    );

    expect(breaker.options).toMatchObject({
      preset: 'http',
      failureThreshold: 5,
      timeout: 5_000,
      openDuration: 20_000,
      critical: true,
    });
  });

  it('applies a preset named in defaults to every breaker, under their own options', () => {
    const breaker = new Breaker('payments', { failureThreshold: 2 }, { defaults: { preset: 'database' } });

    expect(breaker.options).toMatchObject({ preset: 'database', timeout: 10_000, failureThreshold: 2 });
  });

  it("uses the breaker's own preset over one named in defaults", () => {
    const breaker = new Breaker('llm', { preset: 'llm' }, { defaults: { preset: 'database' } });

    expect(breaker.options).toMatchObject({ preset: 'llm', timeout: 120_000, failureThreshold: 3 });
  });

  it("does not let a preset's failureThreshold open a breaker judged by rate", async () => {
    const breaker = breakerOn(fakeClock(), { preset: 'cache', failureRateThreshold: 0.5, minimumCalls: 20 });

    await succeed(breaker, 10);
    await fail(breaker, 9);

    expect(breaker.options.failureThreshold).toBeUndefined();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 9 });
  });
});
