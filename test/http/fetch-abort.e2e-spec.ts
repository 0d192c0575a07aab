import { join } from 'node:path';
import { readLines, spawnTs } from '../support/child-process';
import type { FetchAbortReport } from '../support/fetch-abort-child';

/**
 * The breaker's timeout aborts a request at the upstream. With Node's own fetch (run in a child
 * process: Jest's sandbox hides undici's global dispatcher) a request goes through a dispatcher
 * of ours, not an AbortSignal, which costs undici far less; a fetch that waits before it sends
 * keeps signals.
 */
describe('createResilientFetch: the breaker’s timeout aborts the request (Node’s fetch, a child process)', () => {
  let report: FetchAbortReport;

  beforeAll(async () => {
    const child = spawnTs(join(__dirname, '../support/fetch-abort-child.ts'));
    const [line] = await readLines(child, 1);
    report = JSON.parse(line!) as FetchAbortReport;
  }, 30_000);

  it('gives up a timed-out request at the upstream, through a dispatcher and no signal', () => {
    expect(report.first).toMatchObject({ status: 200 });
    expect(report.learning).toMatchObject({ status: 200 });
    expect(report.timedOut.error).toBe('BREAKER_TIMEOUT');
    expect(report.timedOut.ms).toBeGreaterThanOrEqual(290);
    expect(report.timedOutAbandoned).toBe(true);
    // Before Node has loaded undici there is no dispatcher to go through: the first request
    // carries a signal; the second carries both and learns; later ones carry no signal of ours.
    // Ours stands in for the global dispatcher while fetch runs: init stays as the caller wrote it.
    expect(report.nodeGiven.slice(0, 3)).toEqual([
      { signal: true, dispatcher: 'none' },
      { signal: true, dispatcher: 'global' },
      { signal: false, dispatcher: 'global' },
    ]);
    expect(report.globalRestored).toBe(true);
  });

  it('lets the caller’s own signal abort a request without counting it', () => {
    expect(report.callerAborted.error).toBe('AbortError');
    expect(report.callerAbortedAbandoned).toBe(true);
    // The timeout before weighs half a failure; the caller's abort adds nothing.
    expect(report.failuresAfterAbort).toBe(0.5);
    // The signal is the caller's own.
    expect(report.nodeGiven[3]).toEqual({ signal: true, dispatcher: 'global' });
  });

  it('never counts a request fetch refused as written (it never left), and counts a refused connection', () => {
    expect(report.refusedAsWritten.map((o) => o.error)).toEqual(['TypeError', 'TypeError', 'TypeError']);
    expect(report.refusedReached).toBe(0);
    expect(report.failuresAfterRefused).toBe(0);
    expect(report.connectionRefused.error).toBe('TypeError');
    expect(report.failuresAfterConnectionRefused).toBe(1);
    expect(report.failuresThroughWaitingFetch).toBe(1);
  });

  it('sends a request through the caller’s own dispatcher, and still aborts it on timeout', () => {
    expect(report.ownAnswered).toMatchObject({ status: 200 });
    expect(report.ownTimedOut.error).toBe('BREAKER_TIMEOUT');
    expect(report.ownAbandoned).toBe(true);
    expect(report.ownDispatched).toBe(2);
    expect(report.nodeGiven.slice(4)).toEqual([
      { signal: false, dispatcher: 'init' },
      { signal: false, dispatcher: 'init' },
      { signal: false, dispatcher: 'init' },
    ]);
  });

  it('tells fetch whether the dispatcher it hands the request to mocks (MockAgent)', () => {
    expect(report.mockAnswered).toMatchObject({ status: 200 });
    // undici's fetch gives a mocking dispatcher the body as written, any other a stream.
    expect(report.mockBody).toBe('string');
  });

  it('keeps aborting through a signal for a fetch that waits before it sends', () => {
    expect(report.otherFirst).toMatchObject({ status: 200 });
    expect(report.otherTimedOut.error).toBe('BREAKER_TIMEOUT');
    expect(report.otherAbandoned).toBe(true);
    expect(report.otherGiven).toEqual([
      { signal: true, dispatcher: 'global' },
      { signal: true, dispatcher: 'none' },
    ]);
  });

  it('learns anew when a fetch that sent at once starts to wait', () => {
    expect(report.turningStatuses).toEqual([200, 200, 200, 200, 200]);
    expect(report.turningGiven).toEqual([
      { signal: true, dispatcher: 'global' },
      { signal: false, dispatcher: 'global' },
      // Not dispatched through ours by the time fetch returned: the next request learns again.
      { signal: false, dispatcher: 'global' },
      { signal: true, dispatcher: 'global' },
      { signal: true, dispatcher: 'none' },
    ]);
  });
});
