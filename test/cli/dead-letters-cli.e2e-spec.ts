import type { INestApplication } from '@nestjs/common';
import { run } from '../../src/cli/run';
import { BreakerOpenError } from '../../src/core/errors';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { ADMIN_TOKEN, baseUrl, closeApp, createAdminApp } from '../admin/admin-app.fixture';
import { runCli as cli } from './cli-runner';

const declined = (): Error => Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });

describe('nest-resilience dead-letters against a running app', () => {
  let app: INestApplication;
  let env: Record<string, string>;
  let deadLetters: DeadLetters;

  beforeAll(async () => {
    app = await createAdminApp({ token: ADMIN_TOKEN }, { listen: true });
    deadLetters = app.get(DeadLetters);
  });

  afterAll(() => closeApp(app));

  beforeEach(async () => {
    env = { NEST_RESILIENCE_URL: `${baseUrl(app)}/resilience`, NEST_RESILIENCE_TOKEN: ADMIN_TOKEN };
    await deadLetters.purge();
  });

  it('list prints a table, newest first, of one policy or of all', async () => {
    await deadLetters.record('payments', ['order-1', { amount: 5 }], declined(), 3);
    await deadLetters.record('emails', ['welcome'], new TypeError('bad address'));

    const all = await cli(['dead-letters', 'list'], env);
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = all.stdout.trimEnd().split('\n');
    expect(header.trim().split(/\s{2,}/)).toEqual(['ID', 'TIME', 'POLICY', 'ATTEMPTS', 'ERROR', 'ARGS']);
    expect(rows[0]).toMatch(
      /^ *\d+ +\d{4}-\d\d-\d\dT\S+Z +emails +1 +TypeError: bad address +\["welcome"\]$/,
    );
    expect(rows[1]).toMatch(/ payments +3 +CARD_DECLINED: card declined +\["order-1",\{"amount":5\}\]$/);

    const one = await cli(['dead-letters', 'list', '--policy', 'payments', '--json'], env);
    expect(JSON.parse(one.stdout)).toEqual([expect.objectContaining({ policy: 'payments', attempts: 3 })]);

    expect(
      (await cli(['dead-letters', 'list', '--limit', '1'], env)).stdout.trimEnd().split('\n'),
    ).toHaveLength(2);
  });

  it('list says so when there are none', async () => {
    expect(await cli(['dead-letters', 'list'], env)).toEqual({
      code: 0,
      stdout: 'No dead letters.\n',
      stderr: '',
    });
  });

  it('list escapes control characters that arguments and errors bring', async () => {
    await deadLetters.record('payments', ['\u001b[2J'], new Error('evil\u001b]0;pwned\u0007\nforged row'));

    const { stdout } = await cli(['dead-letters', 'list'], env);
    expect(stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(stdout).not.toContain('\u001b');
    expect(stdout).not.toContain('\u0007');
    expect(stdout).toContain('\\u001b');
  });

  it('replay runs the call through its policy and removes the letter; exit 0', async () => {
    const replayer = jest.fn();
    deadLetters.registerReplayer('payments', replayer);
    const letter = await deadLetters.record('payments', ['order-1'], declined());

    expect(await cli(['dead-letters', 'replay', letter.id], env)).toEqual({
      code: 0,
      stdout: `Dead letter "${letter.id}" replayed through policy "payments": succeeded, removed.\n`,
      stderr: '',
    });
    expect(replayer).toHaveBeenCalledWith('order-1');
    expect(await deadLetters.list()).toEqual([]);
  });

  it('replay exits 1 with the error when the call fails again, or the letter is unknown or has no replayer', async () => {
    deadLetters.registerReplayer('payments', () => Promise.reject(declined()));
    const failing = await deadLetters.record('payments', ['order-1'], declined());
    const orphan = await deadLetters.record('renamed', ['x'], declined());

    expect(await cli(['dead-letters', 'replay', failing.id], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: `nest-resilience: Dead letter "${failing.id}" (policy "payments") failed again: card declined\n`,
    });
    expect(await cli(['dead-letters', 'replay', '999'], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'nest-resilience: No dead letter "999"\n',
    });
    const noReplayer = await cli(['dead-letters', 'replay', orphan.id], env);
    expect(noReplayer.code).toBe(1);
    expect(noReplayer.stderr).toMatch(/policy "renamed" has no replayer in this app/);
    expect(noReplayer.stderr).not.toMatch(/--force/);
    expect(await deadLetters.list()).toHaveLength(2);
  });

  it("replay exits 1 saying the call was not run and when to retry, when the policy's breaker refuses it", async () => {
    deadLetters.registerReplayer(
      'payments',
      () => Promise.reject(new BreakerOpenError('payments', 'open', 41_500)),
      'payments',
    );
    const letter = await deadLetters.record('payments', ['order-1'], declined(), 2);

    expect(await cli(['dead-letters', 'replay', letter.id], env)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `nest-resilience: Dead letter "${letter.id}" (policy "payments") was not run: Circuit breaker "payments" is open ` +
        'and does not permit further calls. It is kept as it was; replay it again in 42 s\n',
    });
    const json = await cli(['dead-letters', 'replay', letter.id, '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: expect.objectContaining({
        status: 503,
        code: 'BREAKER_OPEN',
        id: letter.id,
        policy: 'payments',
        outcome: 'not_run',
        retryAfterMs: 41_500,
      }),
    });
    expect(await deadLetters.list()).toEqual([letter]);
  });

  it('purge removes every letter, or those of one policy', async () => {
    await deadLetters.record('payments', ['a'], declined());
    await deadLetters.record('emails', ['b'], declined());

    expect(await cli(['dead-letters', 'purge', '--policy', 'emails'], env)).toEqual({
      code: 0,
      stdout: 'Purged 1 dead letter(s).\n',
      stderr: '',
    });
    expect((await cli(['dead-letters', 'purge'], env)).stdout).toBe('Purged 1 dead letter(s).\n');
    expect(await deadLetters.list()).toEqual([]);
  });

  it.each([
    [['dead-letters'], /dead-letters needs a subcommand: list, replay <id> or purge/],
    [['dead-letters', 'replay'], /dead-letters replay takes one dead letter id/],
    [['dead-letters', 'replay', '1', '--policy', 'x'], /no --policy or --limit/],
    [['dead-letters', 'list', '7'], /dead-letters list takes no id/],
    [['dead-letters', 'purge', '--limit', '3'], /dead-letters purge does not take --limit/],
    [
      ['dead-letters', 'resend'],
      /unknown dead-letters subcommand "resend"; expected list, replay <id> or purge/,
    ],
    [['dead-letters', 'list', '--force'], /dead-letters does not take --force/],
  ])('%j is a usage error: exit 2, the API not called', async (argv, message) => {
    let stderr = '';
    const code = await run(argv, {
      fetch: () => Promise.reject(new Error('the API must not be called')),
      env: {},
      stdout: { write: () => undefined },
      stderr: { write: (text: string) => (stderr += text) },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
