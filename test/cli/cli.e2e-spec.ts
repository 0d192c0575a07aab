import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  type INestApplication,
} from '@nestjs/common';
import { run } from '../../src/cli/run';
import { BreakerRegistry } from '../../src/core/registry';
import { runCli as cli } from './cli-runner';
import { ADMIN_TOKEN, baseUrl, closeApp, createAdminApp } from '../admin/admin-app.fixture';

/** A port nothing listens on: bound once, then released. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What a terminal would act on; newlines only where the CLI itself ends lines. */
// eslint-disable-next-line no-control-regex -- it looks for control characters
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

describe('nest-resilience CLI against a running app', () => {
  let app: INestApplication;
  let env: Record<string, string>;

  beforeAll(async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { listen: true });
  });

  afterAll(() => closeApp(app));

  beforeEach(async () => {
    env = { NEST_RESILIENCE_URL: `${baseUrl(app)}/resilience`, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };
    // Each test starts from closed breakers (a forced reset skips the cooldown).
    for (const name of ['payments', 'llm']) await cli(['reset', name, '--force'], env);
  });

  it('status prints a table of every breaker', async () => {
    const { code, stdout, stderr } = await cli(['status'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'NAME',
      'STATE',
      'FAILURE RATE',
      'FAILURES',
      'SUCCESSES',
      'REJECTED',
      'TRIPS',
      'NEXT ATTEMPT',
    ]);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 2))).toEqual([
      ['payments', 'closed'],
      ['llm', 'closed'],
    ]);
  });

  it('status <name> shows one breaker in detail', async () => {
    const { code, stdout } = await cli(['status', 'payments'], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^payments\n/);
    expect(stdout).toMatch(/ {2}state +closed\n/);
    expect(stdout).toMatch(/ {2}failure rate +0% \(0 of 0 calls in the window\)\n/);
    expect(stdout).toMatch(/ {2}critical +yes\n/);
  });

  it('trip opens a breaker and the audit shows who did it and why', async () => {
    const trip = await cli(['trip', 'payments', '--reason', 'provider incident #4711'], env);
    expect(trip).toEqual({ code: 0, stdout: 'Breaker "payments" tripped: now forced_open.\n', stderr: '' });

    const status = await cli(['status'], env);
    expect(status.stdout).toMatch(/^payments +forced_open +0% +0 +0 +0 +\d+ +-$/m);

    const audit = await cli(['audit', 'payments', '--limit', '1'], env);
    expect(audit.code).toBe(0);
    const [header, line] = audit.stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['TIME', 'BREAKER', 'ACTION', 'CHANGE', 'ACTOR', 'REASON']);
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z +payments +trip +closed -> forced_open +token +provider incident #4711$/,
    );
  });

  it('reset is refused within the cooldown (exit 1, with the way out) and goes through with --force', async () => {
    await cli(['trip', 'payments', '--reason=drill'], env);

    const refused = await cli(['reset', 'payments'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^nest-resilience: Circuit breaker "payments" opened less than its resetCooldown/,
    );
    expect(refused.stderr).toMatch(/--force/);

    const forced = await cli(['reset', 'payments', '--force', '--reason', 'fixed'], env);
    expect(forced).toEqual({ code: 0, stdout: 'Breaker "payments" reset: now closed.\n', stderr: '' });
  });

  it('status --fleet says the app has no fleet store (exit 1), and takes no name', async () => {
    const fleet = await cli(['status', '--fleet'], env);
    expect(fleet).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringContaining('scope=fleet needs a store shared by a fleet'),
    });
    const named = await cli(['status', 'payments', '--fleet'], env);
    expect(named).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('status --fleet lists every breaker'),
    });
  });

  it('disable switches a breaker off', async () => {
    const { code, stdout } = await cli(['disable', 'llm', '--reason', 'we accept its flapping'], env);
    expect(code).toBe(0);
    expect(stdout).toBe('Breaker "llm" disabled: now disabled.\n');
  });

  it('--json prints the API answer for scripts', async () => {
    const list = await cli(['status', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: 'payments', state: 'closed' }),
      expect.objectContaining({ name: 'llm', state: 'closed' }),
    ]);

    const trip = await cli(['trip', 'llm', '--reason', 'x', '--json'], env);
    expect(JSON.parse(trip.stdout)).toMatchObject({ name: 'llm', state: 'forced_open' });

    const audit = await cli(['--json', 'audit', '--limit', '2'], env);
    expect(JSON.parse(audit.stdout)).toEqual([
      expect.objectContaining({ breaker: 'llm', action: 'trip', actor: 'token' }),
      expect.objectContaining({ action: 'reset' }),
    ]);
  });

  it('takes --url and --token instead of the environment', async () => {
    const { code } = await cli(['status', '--url', `${baseUrl(app)}/resilience/`, '--token', ADMIN_TOKEN]);
    expect(code).toBe(0);
  });

  it('exits 1 with the API message for an unknown breaker', async () => {
    for (const argv of [
      ['status', 'nope'],
      ['trip', 'nope', '--reason', 'x'],
      ['audit', 'nope'],
    ]) {
      const { code, stdout, stderr } = await cli(argv, env);
      expect({ code, stdout, stderr }).toEqual({
        code: 1,
        stdout: '',
        stderr: 'nest-resilience: Unknown circuit breaker "nope"\n',
      });
    }
  });

  it('exits 1 and says how to authenticate when the token is missing or wrong', async () => {
    const missing = await cli(['status'], { NEST_RESILIENCE_URL: env.NEST_RESILIENCE_URL });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Missing admin token.*Pass --token <token> or set NEST_RESILIENCE_TOKEN/);

    const wrong = await cli(['status', '--token', 'wrong'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/Invalid admin token/);
  });

  it('exits 1 and points at --url when the URL is not the admin API', async () => {
    const { code, stderr } = await cli(['status', '--url', `${baseUrl(app)}/elsewhere`], env);
    expect(code).toBe(1);
    expect(stderr).toContain(`No admin API at ${baseUrl(app)}/elsewhere`);
  });

  it('exits 1 with the field at fault when the API refuses the input', async () => {
    const { code, stderr } = await cli(['audit', '--limit', '0'], env);
    expect(code).toBe(1);
    expect(stderr).toBe('nest-resilience: limit: expected a whole number from 1 to 1000\n');
  });

  it('exits 3 naming the URL when nothing listens there', async () => {
    const url = `http://127.0.0.1:${await unusedPort()}/resilience`;
    const { code, stderr } = await cli(['status', '--url', url], env);
    expect(code).toBe(3);
    expect(stderr).toBe(
      `nest-resilience: Cannot connect to ${url} (ECONNREFUSED). ` +
        'Is the app running, and is --url (or NEST_RESILIENCE_URL) right?\n',
    );
  });

  it('escapes control characters in names, reasons and actors, so nothing reaches the terminal raw or forges a row', async () => {
    const key = 'evil\u001b[2J\u001b]0;owned\u0007\nforged-row  closed\u009b31m';
    const name = app.get(BreakerRegistry).get('llm', key).name;
    const reason = 'looks fine\r\u001b[1A\u001b[2Kapproved by security\u202e';
    await cli(['trip', name, '--reason', reason], env);

    const outputs = [
      await cli(['status'], env),
      await cli(['status', name], env),
      await cli(['audit'], env),
      await cli(['audit', name, '--json'], env),
      await cli(['trip', name, '--reason', 'again'], env),
    ];

    for (const { code, stdout, stderr } of outputs) {
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).not.toMatch(UNPRINTABLE_BUT_NEWLINE);
    }
    const [status, detail, audit, json] = outputs.map((o) => o.stdout);
    expect(status.trimEnd().split('\n')).toHaveLength(1 + 3);
    expect(status).toContain('llm#evil\\u001b[2J\\u001b]0;owned\\u0007\\nforged-row  closed\\u009b31m');
    expect(detail.split('\n')[0]).toBe(name);
    expect(audit).toContain('looks fine\\r\\u001b[1A\\u001b[2Kapproved by security\\u202e');
    expect(JSON.parse(json)[0]).toMatchObject({ breaker: name, reason });
  });

  it('puts an error message from the server on one escaped line', async () => {
    const { code, stderr } = await cli(['status', 'nope\u001b[2J\nforged'], env);

    expect(code).toBe(1);
    expect(stderr).toBe('nest-resilience: Unknown circuit breaker "nope\\u001b[2J\\nforged"\n');
  });

  describe("against an app whose own exception filter wraps the API's error bodies", () => {
    /** A catch-all filter as apps write them: every error's body under a key of the app's own. */
    @Catch()
    class WrappingFilter implements ExceptionFilter {
      catch(exception: unknown, host: ArgumentsHost): void {
        const status = exception instanceof HttpException ? exception.getStatus() : 500;
        const body = exception instanceof HttpException ? exception.getResponse() : {};
        host
          .switchToHttp()
          .getResponse<{ status(code: number): { json(body: unknown): void } }>()
          .status(status)
          .json({ app: 'shop', status, body });
      }
    }
    let wrapping: INestApplication;
    let wrappedEnv: Record<string, string>;

    beforeAll(async () => {
      wrapping = await createAdminApp({ token: ADMIN_TOKEN }, { listen: true, filter: new WrappingFilter() });
      wrappedEnv = {
        NEST_RESILIENCE_URL: `${baseUrl(wrapping)}/resilience`,
        NEST_RESILIENCE_TOKEN: ADMIN_TOKEN,
      };
    });

    afterAll(() => wrapping.close());

    it("prints the API's own message, not a wrong-URL hint or the wrapper's JSON", async () => {
      expect(await cli(['status', 'nope'], wrappedEnv)).toEqual({
        code: 1,
        stdout: '',
        stderr: 'nest-resilience: Unknown circuit breaker "nope"\n',
      });
      await cli(['trip', 'payments', '--reason', 'drill'], wrappedEnv);
      const refused = await cli(['reset', 'payments'], wrappedEnv);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^nest-resilience: Circuit breaker "payments" opened less than its resetCooldown ago; .* \(with this CLI: --force\)\n$/,
      );
      const unauthenticated = await cli(['status'], { NEST_RESILIENCE_URL: wrappedEnv.NEST_RESILIENCE_URL });
      expect(unauthenticated.stderr).toMatch(
        /^nest-resilience: Missing admin token.*Pass --token <token> or set NEST_RESILIENCE_TOKEN\.\n$/,
      );
    });
  });

  describe('when the server sends its headers and then misbehaves', () => {
    let server: Server;
    let url: string;
    /** What the server does once it has sent the headers and part of the body. */
    let misbehave: (socket: Socket) => void;

    beforeAll(async () => {
      server = createHttpServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        // Once the headers and the start of the body are on their way, the server misbehaves.
        response.write('[{"name":"payments",', () => misbehave(request.socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/resilience`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const runAgainst = async (argv = ['status']) => {
      let stdout = '';
      let stderr = '';
      const code = await run([...argv, '--url', url], {
        fetch,
        env: {},
        timeoutMs: 2_000,
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
      });
      return { code, stdout, stderr };
    };

    it('exits 3 with one line naming the URL when the body stalls', async () => {
      misbehave = () => undefined;

      expect(await runAgainst()).toEqual({
        code: 3,
        stdout: '',
        stderr: `nest-resilience: ${url} started to answer, but its answer did not end within 2 s (20 bytes received).\n`,
      });
    });

    it('says that a trip whose answer stalled may have been carried out, to check before repeating it', async () => {
      misbehave = () => undefined;

      expect(await runAgainst(['trip', 'payments', '--reason', 'drill'])).toEqual({
        code: 3,
        stdout: '',
        stderr:
          `nest-resilience: ${url} started to answer, but its answer did not end within 2 s (20 bytes received). ` +
          'The app may have carried it out: check (status, audit, dead-letters list) before repeating it.\n',
      });
    });

    it('exits 3 with one line naming the URL when the connection is reset mid-body', async () => {
      misbehave = (socket) => socket.destroy();

      const { code, stdout, stderr } = await runAgainst();

      expect({ code, stdout }).toEqual({ code: 3, stdout: '' });
      expect(stderr).toMatch(
        new RegExp(
          `^nest-resilience: The answer from ${url.replace(/\./g, '\\.')} was cut off \\(.+\\)\\. Is the app restarting, or a proxy in between\\?\\n$`,
        ),
      );
    });
  });

  describe('when something other than the admin API answers', () => {
    const answering = (reply: () => Promise<Response>) => ({
      fetch: reply,
      env: { NEST_RESILIENCE_URL: 'http://10.0.0.1/ops' },
      stdout: { write: () => undefined },
      stderr: { write: (text: string) => (stderr += text) },
    });
    let stderr: string;
    beforeEach(() => (stderr = ''));

    it('exits 1 on a page that is not JSON', async () => {
      const code = await run(
        ['status'],
        answering(async () => new Response('<html>hello</html>')),
      );
      expect(code).toBe(1);
      expect(stderr).toBe(
        "nest-resilience: http://10.0.0.1/ops answered with something other than JSON; is --url the admin API's path?\n",
      );
    });

    it('exits 1 on an empty 404 from a proxy, pointing at --url', async () => {
      const code = await run(
        ['status'],
        answering(async () => new Response('', { status: 404 })),
      );
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /^nest-resilience: No admin API at http:\/\/10\.0\.0\.1\/ops \(HTTP 404\)\. Check --url/,
      );
    });

    it('exits 1 with one line on JSON of another shape, and on a huge error answer', async () => {
      for (const [argv, reply] of [
        [['status'], () => Response.json({ ok: true })],
        [['dead-letters', 'replay', '1'], () => Response.json({})],
        [
          ['status'],
          () =>
            Response.json(
              Array.from({ length: 300_000 }, () => 0),
              { status: 500 },
            ),
        ],
      ] as const) {
        stderr = '';
        expect(
          await run(
            [...argv],
            answering(async () => reply()),
          ),
        ).toBe(1);
        expect(stderr).toMatch(/^nest-resilience: [^\n]*\n$/);
      }
      expect(stderr).not.toMatch(/RangeError|at /);
    });

    it('exits 3 when the API does not answer in time', async () => {
      const timeout = () =>
        Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      expect(await run(['status'], answering(timeout))).toBe(3);
      expect(stderr).toBe('nest-resilience: No answer from http://10.0.0.1/ops within 10 s.\n');
    });
  });

  describe('usage errors exit 2 without calling the API', () => {
    it.each([
      [[], /^Usage: nest-resilience <command>/],
      [['frobnicate'], /unknown command "frobnicate"; expected one of status, trip, reset, disable, audit/],
      [['trip'], /trip needs a breaker name: trip <name> --reason <text>/],
      [['trip', 'payments'], /--reason <text> is required: say why/],
      [['trip', 'payments', '--reason'], /--reason needs a value/],
      [['status', 'a', 'b'], /status takes at most 1/],
      [['status', '--force'], /status does not take --force/],
      [['status', '--verbose'], /unknown option --verbose/],
      [['status', '-v'], /unknown option -v/],
      [['status', '--json=yes'], /--json takes no value/],
      [['status', '--url', 'localhost:3000'], /--url must be an http\(s\) URL/],
    ])('%j', async (argv, message) => {
      const unreachable = () => Promise.reject(new Error('the API must not be called'));
      let stderr = '';
      const code = await run(argv, {
        fetch: unreachable,
        env: {},
        stdout: { write: () => undefined },
        stderr: { write: (text: string) => (stderr += text) },
      });
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    });
  });

  it('--help prints the usage and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['trip', '--help']]) {
      const { code, stdout } = await cli(argv);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: nest-resilience <command> \[options\]/);
      expect(stdout).toContain('trip <name> --reason <text>');
      expect(stdout).toContain(
        'Exit codes: 0 done, 1 the API refused or failed, 2 wrong usage, 3 cannot reach the API.',
      );
    }
  });
});
