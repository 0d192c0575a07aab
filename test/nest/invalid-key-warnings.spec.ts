import { InvalidBreakerKeyError, InvalidRateLimitKeyError } from '../../src/core/errors';
import { InvalidKeyWarnings } from '../../src/nest/invalid-key.warnings';
import { fakeTimers } from '../core/policies/fake-timers';

const EXPECTED = 'a string or a number, at most 256 characters long';
const refusal = (policy: string, key: unknown) => new InvalidRateLimitKeyError(policy, key, EXPECTED);
const breakerRefusal = (breaker: string, key: unknown) => new InvalidBreakerKeyError(breaker, key, EXPECTED);

function warnings() {
  const timers = fakeTimers();
  const lines: string[] = [];
  const log = new InvalidKeyWarnings((line) => lines.push(line), timers);
  return { timers, lines, log };
}

describe('warnings of refused keys', () => {
  it("should log a policy's first refused key at once, naming the policy and the key", () => {
    const { lines, log } = warnings();

    log.refused(refusal('search', 'x'.repeat(300)));

    expect(lines).toEqual([
      `Policy "search": invalid rate-limit key: a string of 300 characters; expected ${EXPECTED}. ` +
        'The call was refused (HTTP 400); further invalid keys of this policy are logged at most once a minute, counted',
    ]);
  });

  it('should sum up a flood of refused keys in one line a minute, with the latest', async () => {
    const { timers, lines, log } = warnings();

    for (let i = 0; i < 10_000; i++) log.refused(refusal('search', i % 2 === 0 ? undefined : null));
    await timers.advance(59_999);
    expect(lines).toHaveLength(1);

    await timers.advance(1);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      `Policy "search": invalid rate-limit key: null; expected ${EXPECTED}. ` +
        '9999 more calls of this policy were refused for an invalid rate-limit key since the last warning; this key was the latest',
    );

    log.refused(refusal('search', { id: 1 }));
    await timers.advance(60_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('a value of type object; ');
    expect(lines[2]).toContain(
      '. 1 more call of this policy was refused for an invalid rate-limit key since',
    );
  });

  it('should log the next refusal at once after a quiet minute, and keep no timer while quiet', async () => {
    const { timers, lines, log } = warnings();

    log.refused(refusal('search', undefined));
    await timers.advance(60_000);
    expect([lines.length, timers.pending]).toEqual([1, 0]);

    log.refused(refusal('search', null));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('null; expected');
    expect(lines[1]).toContain('The call was refused (HTTP 400)');
  });

  it('should keep each policy apart', () => {
    const { lines, log } = warnings();

    log.refused(refusal('search', undefined));
    log.refused(refusal('export', undefined));
    log.refused(refusal('search', undefined));

    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'Policy "search"',
      'Policy "export"',
    ]);
  });

  it('should write what it counted when closed, and start no timer after', async () => {
    const { timers, lines, log } = warnings();
    log.refused(refusal('search', undefined));
    log.refused(refusal('search', null));
    log.refused(refusal('export', undefined));

    log.close();

    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(
      `Policy "search": invalid rate-limit key: null; expected ${EXPECTED}. ` +
        '1 more call of this policy was refused for an invalid rate-limit key since the last warning; this key was the latest',
    );
    expect(timers.pending).toBe(0);
    await timers.advance(120_000);
    expect(lines).toHaveLength(3);
  });

  it("should warn of a per-key breaker's refused keys the same way, naming the breaker", async () => {
    const { timers, lines, log } = warnings();

    for (let i = 0; i < 100; i++)
      log.refused(breakerRefusal('hosts', i === 99 ? ['a', 'b'] : 'x'.repeat(300)));
    await timers.advance(60_000);

    expect(lines).toEqual([
      `Invalid key for circuit breaker "hosts": a string of 300 characters; expected ${EXPECTED}. ` +
        'The call was refused (HTTP 400); further invalid keys of this breaker are logged at most once a minute, counted',
      `Invalid key for circuit breaker "hosts": a value of type object; expected ${EXPECTED}. ` +
        '99 more calls of this breaker were refused for an invalid key since the last warning; this key was the latest',
    ]);
  });

  it('should keep a breaker and a policy of one name apart', () => {
    const { lines, log } = warnings();

    log.refused(refusal('search', undefined));
    log.refused(breakerRefusal('search', undefined));
    log.refused(breakerRefusal('search', null));
    log.close();

    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'Policy "search"',
      'Invalid key for circuit breaker "search"',
      'Invalid key for circuit breaker "search"',
    ]);
    expect(lines[2]).toContain('1 more call of this breaker was refused for an invalid key since');
  });
});
