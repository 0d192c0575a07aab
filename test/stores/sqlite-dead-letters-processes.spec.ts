import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SqliteStore } from '../../src/stores/sqlite.store';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { SQLITE_TEST_DRIVERS, sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';

const CHILD = join(__dirname, '../support/sqlite-dead-letters-child.ts');
const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

describe.each(SQLITE_TEST_DRIVERS)('Sqlite dead letters shared by processes on %s', (driver) => {
  const dir = useTempDir();
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) await killHard(child);
  });

  const spawnChild = (path: string, count: number, tag: string): ChildProcess => {
    const child = spawnTs(CHILD, [path, driver, String(count), tag]);
    children.push(child);
    return child;
  };

  it('should keep every letter when two processes write them to one file at once', async () => {
    const path = join(dir(), 'letters.db');
    // Made first, so that both processes open a file that has its tables.
    new SqliteStore({ type: 'sqlite', path, driver }, logger()).close();
    const [a, b] = [spawnChild(path, 400, 'a'), spawnChild(path, 400, 'b')];

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
    const child = spawnChild(path, 0, 'c');
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
});
