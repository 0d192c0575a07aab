import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { startUpstream, type Upstream } from '../support/upstream-server';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

/**
 * A route that fetches an origin which redirects to an origin whose breaker is OPEN answers as
 * a route that fetched the OPEN origin itself: 503 with `Retry-After`. Run in a child process
 * with Node's own fetch: Jest's sandbox hides undici's global dispatcher, through which the
 * redirect hops are seen.
 */
describe('A route whose fetch is redirected to an OPEN origin (a real app, Node’s fetch)', () => {
  let child: ChildProcess;
  let app: string;
  let first: Upstream;
  let open: Upstream;

  beforeAll(async () => {
    [first, open] = await Promise.all([startUpstream(), startUpstream()]);
    child = spawnTs(join(__dirname, 'redirect-route-child.ts'));
    const [line] = await readLines(child, 1);
    app = (JSON.parse(line!) as { url: string }).url;
  }, 30_000);

  afterAll(async () => {
    await killHard(child);
    await Promise.all([first.close(), open.close()]);
  });

  async function proxy(url: string): Promise<Answer> {
    const response = await fetch(`${app}/proxy?url=${encodeURIComponent(url)}`);
    const text = await response.text();
    const json = response.headers.get('content-type')?.startsWith('application/json') ?? false;
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: json ? JSON.parse(text) : text,
    };
  }

  it('answers 503 with Retry-After naming the OPEN origin’s breaker, and sends it nothing', async () => {
    // Node loads undici on a process's first request (the signal way); the second learns that
    // its fetch sends through the dispatcher it is given.
    for (let i = 0; i < 2; i++) expect(await proxy(`${first.origin}/warm-up`)).toMatchObject({ status: 200 });
    // One 503 opens the origin's breaker (failureThreshold 1): the route passes the answer on.
    open.answer(503);
    expect(await proxy(`${open.origin}/`)).toMatchObject({ status: 200, body: { status: 503 } });
    const reached = { connections: open.connections, requests: open.requests };
    first.redirectTo(`${open.origin}/moved`);

    const answer = await proxy(`${first.origin}/to-open`);

    expect(answer.status).toBe(503);
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    expect(JSON.stringify(answer.body)).toContain(`http:${open.origin}`);
    expect({ connections: open.connections, requests: open.requests }).toEqual(reached);
    const breakers = (await fetch(`${app}/breakers`).then((r) => r.json())) as Record<string, object>;
    expect(breakers[`http:${open.origin}`]).toMatchObject({ state: 'open', rejected: 1 });
    // The origin asked first answered with the redirect: a success of its own.
    expect(breakers[`http:${first.origin}`]).toMatchObject({ state: 'closed', failures: 0 });
  });
});
