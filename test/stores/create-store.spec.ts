import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBreakerStore } from '../../src/stores/create-store';
import { MemoryStore } from '../../src/stores/memory.store';
import type { StoreOptions } from '../../src/stores/store-options';
import { useTempDir } from '../support/temp-dir';

describe('createBreakerStore', () => {
  const dir = useTempDir();
  const logger = { warn: jest.fn(), error: jest.fn() };

  it('should build the memory store by default', () => {
    expect(createBreakerStore(undefined, logger)).toBeInstanceOf(MemoryStore);
    expect(createBreakerStore({ type: 'memory' }, logger)).toBeInstanceOf(MemoryStore);
  });

  it('should build a sqlite store on the file, creating its folder', async () => {
    const store = createBreakerStore({ type: 'sqlite', path: join(dir(), 'nested', 'state.db') }, logger);

    await expect(store.close()).resolves.toBeUndefined();
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a store that is not an object',
      'sqlite',
      /store = "sqlite"; expected an object with type: 'memory' or 'sqlite'/,
    ],
    ['an unknown type', { type: 'mongo' }, /store\.type = "mongo"; expected 'memory' or 'sqlite' or 'redis'/],
    ['a missing type', {}, /store\.type = undefined; expected 'memory' or 'sqlite'/],
    ['a missing path', { type: 'sqlite' }, /store\.path = undefined; expected the path of the SQLite file/],
    [
      'an empty path',
      { type: 'sqlite', path: ' ' },
      /store\.path = " "; expected the path of the SQLite file/,
    ],
    [
      'a zero flushInterval',
      { type: 'sqlite', path: 'x.db', flushInterval: 0 },
      /store\.flushInterval = 0; expected a duration in ms > 0/,
    ],
    [
      'a NaN flushInterval',
      { type: 'sqlite', path: 'x.db', flushInterval: NaN },
      /store\.flushInterval = NaN; expected/,
    ],
    [
      'a string flushInterval',
      { type: 'sqlite', path: 'x.db', flushInterval: '5s' },
      /store\.flushInterval = "5s"; expected/,
    ],
    [
      'a flushInterval no timer can wait',
      { type: 'sqlite', path: 'x.db', flushInterval: 2 ** 31 },
      /<= 2147483647/,
    ],
    [
      'an unknown key of the sqlite store, such as a misspelt one',
      { type: 'sqlite', path: 'x.db', flushInteval: 100 },
      /store\.flushInteval = 100; expected no such option; known: type, path, flushInterval, driver/,
    ],
    [
      'an unknown key of the memory store',
      { type: 'memory', path: 'x.db' },
      /store\.path = "x.db"; expected no such option; known: type$/,
    ],
    [
      'an unknown driver',
      { type: 'sqlite', path: 'x.db', driver: 'sqlite3' },
      /store\.driver = "sqlite3"; expected one of 'auto', 'better-sqlite3', 'node:sqlite', 'bun:sqlite'/,
    ],
  ])('should refuse %s, naming the option and what was expected', (_case, options, message) => {
    expect(() => createBreakerStore(options as StoreOptions, logger)).toThrow(message);
    expect(() => createBreakerStore(options as StoreOptions, logger)).toThrow(
      expect.objectContaining({ code: 'INVALID_BREAKER_OPTIONS', scope: 'store', breaker: undefined }),
    );
  });

  it('should say which file it could not open', () => {
    const notADatabase = join(dir(), 'notes.txt');
    writeFileSync(notADatabase, 'these are not the tables you are looking for, '.repeat(50));

    expect(() => createBreakerStore({ type: 'sqlite', path: notADatabase }, logger)).toThrow(
      `The sqlite store could not open "${notADatabase}": file is not a database`,
    );
  });
});
