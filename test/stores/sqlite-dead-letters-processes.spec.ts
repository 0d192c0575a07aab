import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPLAY_CLAIM_MS } from '../../src/core/dead-letter-store';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import type { BreakerStore } from '../../src/stores/breaker-store';
import { openSqliteDatabase } from '../../src/stores/sqlite-database';
import { SqliteDeadLetters } from '../../src/stores/sqlite-dead-letters';
import { SqliteStore } from '../../src/stores/sqlite.store';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { FakeClock, SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';

const CHILD = join(__dirname, '../support/sqlite-dead-letters-child.ts');
const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

/** A child's stdout, line by line: `next()` resolves with the next line (rejects if it exits first). */
function lineReader(child: ChildProcess): { next(): Promise<string> } {
  const lines: string[] = [];
  const waiting: Array<{ resolve(line: string): void; reject(error: Error): void }> = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter.resolve(line);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of waiting.splice(0))
      waiter.reject(new Error(`child exited (${code ?? signal}): ${stderr}`));
  });
  return {
    next: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
  };
}

const letter = {
  policy: 'payments',
  args: ['order-1', { amount: 5 }],
  error: { name: 'Error', message: 'card declined' },
  attempts: 1,
  at: 1_700_000_000_000,
};

describe.each(SQLITE_TEST_DRIVERS)('Sqlite dead letters shared by processes on %s', (driver) => {
  const dir = useTempDir();
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) await killHard(child);
  });

  const spawnChild = (...args: string[]): ChildProcess => {
    const [mode, path, ...rest] = args;
    const child = spawnTs(CHILD, [mode, path, driver, ...rest]);
    children.push(child);
    return child;
  };
  const spawnWriter = (path: string, count: number, tag: string) =>
    spawnChild('write', path, String(count), tag);

  /** A file holding one letter, and its id. */
  const fileWithLetter = async (name: string): Promise<{ path: string; id: string }> => {
    const path = join(dir(), name);
    const store = new SqliteStore({ type: 'sqlite', path, driver }, logger());
    const { id } = await store.deadLetters.add(letter);
    await store.close();
    return { path, id };
  };

  /** A replaying child of `path`, once it is ready to replay `id` on SIGUSR2. */
  const spawnReplayer = async (path: string, id: string) => {
    const child = spawnChild('replay', path, id);
    const lines = lineReader(child);
    expect(await lines.next()).toBe('ready');
    return { child, lines };
  };

  it('should keep every letter when two processes write them to one file at once', async () => {
    const path = join(dir(), 'letters.db');
    // Made first, so that both processes open a file that has its tables.
    new SqliteStore({ type: 'sqlite', path, driver }, logger()).close();
    const [a, b] = [spawnWriter(path, 400, 'a'), spawnWriter(path, 400, 'b')];

    const lines = (await Promise.all([readLines(a, 400), readLines(b, 400)])).flat();

    expect(lines.filter((line) => line.startsWith('lost'))).toEqual([]);
    const store = new SqliteStore({ type: 'sqlite', path, driver }, logger());
    const kept = await store.deadLetters.list({ limit: 1_000 });
    await store.close();
    expect(kept).toHaveLength(800);
    expect(new Set(kept.map((l) => l.id))).toEqual(new Set(lines));
  }, 60_000);

  it('should leave a readable file with whole letters only after a kill -9 mid-write', async () => {
    const path = join(dir(), 'crash.db');
    const child = spawnWriter(path, 0, 'c');
    const reported = await readLines(child, 100 + Math.floor(Math.random() * 400));
    await killHard(child);

    const db = sqliteDriver(driver).open(path);
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      db.close();
    }
    const store = new SqliteStore({ type: 'sqlite', path, driver }, logger());
    const kept = await store.deadLetters.list({ limit: 10_000 });
    await store.close();
    expect(reported.filter((line) => line.startsWith('lost'))).toEqual([]);
    expect(kept.map((l) => l.id)).toEqual(expect.arrayContaining(reported));
    for (const letter of kept)
      expect(letter.args).toEqual([expect.stringMatching(/^c-\d+$/), expect.any(Object)]);
  }, 60_000);

  it('should run a letter once when two processes replay it at once: the other answers REPLAY_IN_PROGRESS', async () => {
    const { path, id } = await fileWithLetter('replay.db');
    const replayers = await Promise.all([spawnReplayer(path, id), spawnReplayer(path, id)]);

    for (const { child } of replayers) child.kill('SIGUSR2');
    const answers = await Promise.all(replayers.map(({ lines }) => lines.next()));

    expect([...answers].sort()).toEqual(['REPLAY_IN_PROGRESS', 'ran']);
    const runner = replayers[answers.indexOf('ran')];
    runner.child.kill('SIGHUP');
    expect(await runner.lines.next()).toBe('succeeded');
    const store = new SqliteStore({ type: 'sqlite', path, driver }, logger());
    expect(await store.deadLetters.list()).toEqual([]);
    await store.close();
  }, 60_000);

  it('should let another process replay a letter once the claim of a process killed mid-replay expired', async () => {
    const { path, id } = await fileWithLetter('killed.db');
    const killed = await spawnReplayer(path, id);
    // The child claims the letter between these two readings of the host's clock.
    const before = Date.now();
    killed.child.kill('SIGUSR2');
    expect(await killed.lines.next()).toBe('ran');
    const after = Date.now();
    await killHard(killed.child);

    const clock = new FakeClock(before);
    const db = openSqliteDatabase(path, sqliteDriver(driver));
    try {
      const deadLetters = new DeadLetters({
        deadLetters: new SqliteDeadLetters(db, undefined, clock),
      } as unknown as BreakerStore);
      const ran: unknown[][] = [];
      deadLetters.registerReplayer('payments', (...args) => ran.push(args));

      await expect(deadLetters.replay(id)).rejects.toMatchObject({ code: 'REPLAY_IN_PROGRESS' });
      clock.t = before + REPLAY_CLAIM_MS - 1;
      await expect(deadLetters.replay(id)).rejects.toMatchObject({ code: 'REPLAY_IN_PROGRESS' });
      clock.t = after + REPLAY_CLAIM_MS;
      expect(await deadLetters.replay(id)).toMatchObject({ ok: true });

      expect(ran).toEqual([letter.args]);
      expect(await deadLetters.list()).toEqual([]);
    } finally {
      db.close();
    }
  }, 60_000);
});
