import { join } from 'node:path';
import { readLines, spawnTs } from '../support/child-process';
import type { OriginSeen, RedirectHopsReport } from './redirect-hops-child';

/**
 * Each redirect hop of a `fetch` to another origin asks that origin's breaker before it is sent,
 * and is counted there. Run with Node's own fetch in a child process: Jest's sandbox hides
 * undici's global dispatcher, through which the hops are seen.
 */
describe('createResilientFetch: a redirect to another origin goes through that origin’s breaker (Node’s fetch, a child process)', () => {
  let report: RedirectHopsReport;
  /** The origins of a scenario, in the order the child listed them. */
  const origins = (scenario: string): OriginSeen[] => Object.values(report[scenario]!.origins);

  beforeAll(async () => {
    const child = spawnTs(join(__dirname, 'redirect-hops-child.ts'));
    const [line] = await readLines(child, 1);
    report = JSON.parse(line!) as RedirectHopsReport;
  }, 30_000);

  it('fails a request redirected to an OPEN origin with that origin’s BreakerOpenError, and opens no connection to it', () => {
    const [first, open] = origins('toOpenOrigin');
    const [openOrigin] = Object.keys(report.toOpenOrigin!.origins).slice(1);
    // The error itself, as from a request sent to that origin first: not fetch's TypeError around it.
    expect(report.toOpenOrigin!.outcome).toEqual({
      error: 'BreakerOpenError',
      code: 'BREAKER_OPEN',
      breaker: `http:${openOrigin}`,
      retryAfterMs: expect.any(Number),
      resilience: true,
    });
    expect(report.toOpenOrigin!.outcome.retryAfterMs).toBeGreaterThan(0);
    // Only the request that opened it ever reached it.
    expect(open).toMatchObject({ state: 'open', rejected: 1, connections: 1, requests: 1 });
    // The origin asked first answered (with the redirect): a success of its own.
    expect(first).toMatchObject({ state: 'closed', successes: 1, failures: 0 });
  });

  it('counts a failing answer after a redirect on the origin that gave it, not on the one asked first', () => {
    expect(report.toFailingOrigin!.outcome).toMatchObject({ status: 503 });
    const [first, failing] = origins('toFailingOrigin');
    expect(failing).toMatchObject({ state: 'open', calls: 1, failures: 1 });
    expect(first).toMatchObject({ state: 'closed', successes: 2, failures: 0 });
  });

  it('counts a refused connection after a redirect on the origin redirected to', () => {
    // The origin's own network error reaches the caller as fetch gives it.
    expect(report.toRefusingOrigin!.outcome).toMatchObject({
      error: 'TypeError',
      resilience: false,
      cause: { code: 'ECONNREFUSED' },
    });
    const [first, refusing] = origins('toRefusingOrigin');
    expect(refusing).toMatchObject({ calls: 1, failures: 1 });
    expect(first).toMatchObject({ state: 'closed', successes: 3, failures: 0 });
  });

  it('judges a redirect within one origin as one call of its breaker, by the last answer', () => {
    expect(report.withinOneOrigin!.outcome).toMatchObject({ status: 503 });
    expect(origins('withinOneOrigin')).toEqual([
      expect.objectContaining({ state: 'open', calls: 1, failures: 1, requests: 2 }),
    ]);
  });

  it('ends a hop with the timeout of the origin redirected to, which fails the request with its BreakerTimeoutError, counted there', () => {
    const [, hanging] = Object.keys(report.toHangingOrigin!.origins);
    expect(report.toHangingOrigin!.outcome).toEqual({
      error: 'BreakerTimeoutError',
      code: 'BREAKER_TIMEOUT',
      breaker: `http:${hanging}`,
      resilience: true,
    });
    const [first, timedOut] = origins('toHangingOrigin');
    expect(timedOut).toMatchObject({ calls: 1, failures: 0.5, requests: 1 });
    expect(first).toMatchObject({ failures: 0 });
  });

  it('never counts a hop its caller aborted, on either origin', () => {
    expect(report.callerAbortsHop!.outcome).toMatchObject({ error: 'AbortError' });
    const [first, hanging] = origins('callerAbortsHop');
    expect(hanging).toMatchObject({ calls: 0, failures: 0 });
    expect(first).toMatchObject({ failures: 0 });
  });

  it('counts the timeout of the origin asked first on that origin alone, while a hop elsewhere runs', () => {
    expect(report.firstOriginTimesOut!.outcome).toMatchObject({ error: 'BreakerTimeoutError' });
    const [first, hanging] = origins('firstOriginTimesOut');
    expect(first).toMatchObject({ calls: 1, failures: 0.5 });
    expect(hanging).toMatchObject({ calls: 0, failures: 0 });
  });

  it('asks the origin asked first again when a redirect leads back to it, and counts its answer there', () => {
    expect(report.backToFirstOrigin!.outcome).toMatchObject({ status: 503 });
    const [first, middle] = origins('backToFirstOrigin');
    // Its 503 on the way back is a call of its breaker of its own, which opened it (its first
    // answer, the redirect, settles after that, under a state since left: not counted).
    expect(first).toMatchObject({ state: 'open', failures: 1 });
    expect(middle).toMatchObject({ calls: 1, successes: 1, failures: 0 });
  });
});
