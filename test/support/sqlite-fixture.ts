import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { Clock } from '../../src/core/clock';
import { BreakerRegistry } from '../../src/core/registry';
import type { SqliteDriver } from '../../src/stores/sqlite-database';
import { SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite.store';
import { useTempDir } from './temp-dir';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface BootOptions {
  breakers?: Record<string, BreakerOptions>;
  defaults?: BreakerOptions;
  flushInterval?: number;
  maxKeysPerBreaker?: number;
}

/** One "process" of an app: a registry and the sqlite store it was attached to. */
export interface Booted {
  store: SqliteStore;
  registry: BreakerRegistry;
  logger: { warn: jest.Mock; error: jest.Mock };
  /** The store's own connection, to break it underneath. */
  db: Database.Database;
}

/**
 * Real SQLite files in a fresh temp folder per test. `boot()` starts a registry + store on the
 * test's file, as an app start would; every store still open is closed after the test.
 */
export function useSqliteFile(clock: FakeClock) {
  const dir = useTempDir();
  const open: SqliteStore[] = [];
  const readers: Database.Database[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    for (const db of readers.splice(0)) db.close();
  });
  const path = () => join(dir(), 'state', 'breakers.db');
  return {
    path,
    boot(
      { breakers = {}, defaults, flushInterval, maxKeysPerBreaker }: BootOptions = {},
      options?: Partial<SqliteStoreOptions>,
    ): Booted {
      const logger = { warn: jest.fn(), error: jest.fn() };
      let db: Database.Database | undefined;
      // A constructor that hands back (and keeps) the real connection it opens.
      const Driver = function (...args: ConstructorParameters<typeof Database>) {
        return (db = new Database(...args));
      } as unknown as SqliteDriver;
      const store = new SqliteStore(
        { type: 'sqlite', path: path(), flushInterval, ...options },
        logger,
        () => Driver,
      );
      open.push(store);
      const registry = new BreakerRegistry({
        breakers,
        defaults,
        clock,
        maxKeysPerBreaker,
        auditLog: store.auditLog,
      });
      store.attach(registry);
      return { store, registry, logger, db: db as Database.Database };
    },
    /** A second connection to the file, as another tool would open it. */
    reader(): Database.Database {
      const db = new Database(path());
      readers.push(db);
      return db;
    },
  };
}

/** Lets the store's end-of-turn write run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const failing = (): never => {
  throw new Error('downstream failed');
};
export const succeeding = (): string => 'ok';

/** Counts the rows the store writes to breaker_state, with a trigger in the file itself. */
export function countStateWrites(db: Database.Database): () => number {
  db.exec(`
    CREATE TABLE state_writes (n INTEGER NOT NULL);
    INSERT INTO state_writes VALUES (0);
    CREATE TRIGGER count_inserts AFTER INSERT ON breaker_state BEGIN UPDATE state_writes SET n = n + 1; END;
    CREATE TRIGGER count_updates AFTER UPDATE ON breaker_state BEGIN UPDATE state_writes SET n = n + 1; END;
  `);
  const read = db.prepare<[], { n: number }>('SELECT n FROM state_writes');
  return () => (read.get() as { n: number }).n;
}
