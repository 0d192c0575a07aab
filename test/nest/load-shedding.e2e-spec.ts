import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { killHard, readLines, spawnTs } from '../support/child-process';

const CHILD = join(__dirname, '..', 'support', 'load-shed-child.ts');

interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

describe('Load shedding in a real app whose event loop is busy', () => {
  let child: ChildProcess;
  let url: string;

  beforeEach(async () => {
    child = spawnTs(CHILD);
    const [line] = await readLines(child, 1);
    url = (JSON.parse(line) as { url: string }).url;
  });

  afterEach(async () => {
    await killHard(child);
  });

  async function call(path: string, method = 'GET'): Promise<Answer> {
    const response = await fetch(`${url}${path}`, { method });
    const text = await response.text();
    const json = response.headers.get('content-type')?.startsWith('application/json') ?? false;
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: json ? JSON.parse(text) : text,
    };
  }

  async function stats() {
    return (await call('/stats')).body as {
      reached: { hold: number; quick: number };
      snapshot: { failures: number; successes: number; rejected: number; inFlight: number; state: string };
    };
  }

  it('should answer 503 with Retry-After while the loop is busy and calls pile up, without running or counting them', async () => {
    // Three calls stay running: more than inFlight (2).
    const held = [0, 1, 2].map(() => call('/search/hold'));
    while ((await stats()).reached.hold < 3);
    // The loop is idle: however many calls run, the next one goes through (and starts the sampler).
    expect((await call('/search/quick')).status).toBe(200);

    await call('/burn', 'POST');
    const answers: Answer[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !answers.some((a) => a.status === 503)) {
      answers.push(await call('/search/quick'));
    }

    const shed = answers.filter((a) => a.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(shed[0]).toEqual({
      status: 503,
      retryAfter: '1',
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'LOAD_SHED',
        message: expect.stringMatching(
          /^Circuit breaker "search" shed the call: the event loop is \d+% busy and 3 calls are running$/,
        ),
        breaker: 'search',
        retryAfterMs: 1000,
      },
    });
    const passed = answers.length - shed.length;
    const after = await stats();
    // A shed call never ran, and the breaker counts it as a rejection, never as a failure.
    expect(after.reached.quick).toBe(1 + passed);
    expect(after.snapshot).toMatchObject({
      state: 'closed',
      failures: 0,
      successes: 1 + passed,
      rejected: shed.length,
      inFlight: 3,
    });

    await call('/release', 'POST');
    expect((await Promise.all(held)).map((a) => a.status)).toEqual([200, 200, 200]);
  }, 20_000);
});
