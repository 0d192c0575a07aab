import { Body, Controller, Headers, Injectable, Logger, Post } from '@nestjs/common';
import { Resilient } from '../../src/nest/policy.decorators';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';

const TOKEN = 's3cret-admin-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

/** A downstream that fails while `down`, and remembers what it was asked. */
@Injectable()
class Mailer {
  static down = true;
  static sent: unknown[][] = [];
  static failWith: () => Error = () => new Error('smtp down');

  @Resilient('emails')
  async send(to: string, body: unknown): Promise<string> {
    Mailer.sent.push([to, body]);
    if (Mailer.down) throw Mailer.failWith();
    return 'sent';
  }
}

@Controller('mail')
class MailController {
  constructor(private readonly mailer: Mailer) {}

  /** Takes the request's headers, as a handler might for other reasons: they must not reach a dead letter. */
  @Post()
  send(@Body() body: { to: string; text: unknown }, @Headers('x-tenant') tenant: string): Promise<string> {
    return this.mailer.send(body.to, { text: body.text, tenant });
  }
}

async function mailApp() {
  const t = await createApp(
    { providers: [Mailer], controllers: [MailController] },
    { policies: { emails: { deadLetter: true } }, admin: { token: TOKEN } },
  );
  return { ...t, deadLetters: t.app.get(DeadLetters), mailer: t.app.get(Mailer) };
}

/** The letters listed once the one being kept (asynchronously, after the failure) is there or was given up. */
async function settled(deadLetters: DeadLetters, lost: jest.SpyInstance) {
  for (let i = 0; i < 200 && lost.mock.calls.length === 0; i++) {
    const letters = await deadLetters.list();
    if (letters.length > 0) return letters;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return deadLetters.list();
}

let lost: jest.SpyInstance;

beforeEach(() => {
  Mailer.down = true;
  Mailer.sent = [];
  Mailer.failWith = () => new Error('smtp down');
  lost = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  await closeAllApps();
  lost.mockRestore();
});

describe('dead letters under hostile input', () => {
  it('should not keep a call whose arguments are too large, give the caller its own error, and log what it dropped', async () => {
    const { deadLetters, mailer } = await mailApp();

    await expect(mailer.send('a@b.c', { text: 'x'.repeat(10 * 1024 * 1024) })).rejects.toThrow('smtp down');

    expect(Mailer.sent).toHaveLength(1);
    expect(await settled(deadLetters, lost)).toEqual([]);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(String(lost.mock.calls[0][0])).toMatch(
      /^A call of policy "emails" finally failed and could not be kept as a dead letter: its arguments are 10485\d{3} bytes as JSON, more than the 65536 a dead letter of policy "emails" keeps/,
    );
  });

  it('should run a call whose arguments nest 20,000 levels deep as without dead letters, keep nothing, and log why', async () => {
    const { deadLetters, mailer } = await mailApp();
    const deep = (): unknown => {
      let value: unknown = 'bottom';
      for (let i = 0; i < 20_000; i++) value = { next: value };
      return value;
    };

    await expect(mailer.send('a@b.c', deep())).rejects.toThrow('smtp down');
    expect(await settled(deadLetters, lost)).toEqual([]);
    Mailer.down = false;
    await expect(mailer.send('a@b.c', deep())).resolves.toBe('sent');

    expect(Mailer.sent).toHaveLength(2);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(String(lost.mock.calls[0][0])).toBe(
      'A call of policy "emails" finally failed and could not be kept as a dead letter: a dead letter of policy ' +
        '"emails" cannot keep its arguments: they are nested more than 1000 levels deep (pass flatter arguments, ' +
        'or an id the method can load the data by)',
    );
  });

  it('should warn once that the oldest letters are dropped when a flood fills the store, not once per letter', async () => {
    const { deadLetters, mailer } = await mailApp();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      for (let n = 1; n <= 1_010; n++)
        await expect(mailer.send(`${n}@b.c`, 'hi')).rejects.toThrow('smtp down');
      await settled(deadLetters, lost);

      const drops = warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('dropped'));
      expect(drops).toEqual([
        'The store keeps the newest 1000 dead letters: past that the oldest go, and one of policy "emails" was ' +
          'dropped (said once per policy; replay or purge letters to keep room)',
      ]);
      expect((await deadLetters.list({ limit: 1_000 })).at(-1)?.args[0]).toBe('11@b.c');
    } finally {
      warn.mockRestore();
    }
  });

  it('should keep a huge error message cut to 2,000 characters, saying how much it cut', async () => {
    const { deadLetters, mailer } = await mailApp();
    Mailer.failWith = () => new Error('e'.repeat(1_000_000));

    await expect(mailer.send('a@b.c', 'hi')).rejects.toThrow();
    const [letter] = await settled(deadLetters, lost);

    expect(letter.error.message).toBe(`${'e'.repeat(2_000)}… (998000 more characters not kept)`);
  });

  it('should keep only the arguments: no request header, no Authorization', async () => {
    const { http, deadLetters } = await mailApp();

    await http()
      .post('/mail')
      .set(auth)
      .set('Cookie', 'session=abc')
      .set('x-tenant', 't-1')
      .send({ to: 'a@b.c', text: 'hi' })
      .expect(500);
    const [letter] = await settled(deadLetters, lost);

    expect(letter.args).toEqual(['a@b.c', { text: 'hi', tenant: 't-1' }]);
    expect(JSON.stringify(letter)).not.toMatch(/s3cret|session=abc|authorization|cookie/i);
  });

  it('should keep and replay __proto__ and constructor keys as plain data, polluting no prototype', async () => {
    const { http, deadLetters } = await mailApp();
    const body =
      '{"to":"a@b.c","text":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}';

    await http().post('/mail').set('Content-Type', 'application/json').send(body).expect(500);
    const [letter] = await settled(deadLetters, lost);
    const listed = await http().get('/resilience/dead-letters').set(auth).expect(200);
    Mailer.down = false;
    await http().post(`/resilience/dead-letters/${letter.id}/replay`).set(auth).expect(200);

    expect(listed.body[0].args[1].text).toEqual(JSON.parse(body).text);
    const replayed = (Mailer.sent[1][1] as { text: object }).text;
    expect(Object.getPrototypeOf(replayed)).toBe(Object.prototype);
    expect(Object.keys(replayed)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a path', '../../breakers', 404],
    ['an encoded path', '..%2F..%2Fbreakers', 404],
    ['a #', '1%23x', 404],
    ['5,000 digits', '9'.repeat(5_000), 404],
    ['a NUL', '%00', 404],
  ])('should answer a replay of an id with %s with 404 and change nothing', async (_label, id, status) => {
    const { http, deadLetters, mailer } = await mailApp();
    await expect(mailer.send('a@b.c', 'hi')).rejects.toThrow('smtp down');
    const kept = await settled(deadLetters, lost);

    const res = await http().post(`/resilience/dead-letters/${id}/replay`).set(auth);

    expect(res.status).toBe(status);
    if (res.body.code !== undefined) expect(res.body.code).toBe('DEAD_LETTER_NOT_FOUND');
    expect(await deadLetters.list()).toEqual(kept);
    expect(Mailer.sent).toHaveLength(1);
  });
});
