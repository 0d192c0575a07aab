import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { Clock } from '../../src/core/clock';
import { BreakerRegistry } from '../../src/core/registry';
import { loadSqliteDriver } from '../../src/stores/sqlite-drivers/load-sqlite-driver';
import {
  SQLITE_DRIVERS,
  type SqliteConnection,
  type SqliteDriver,
  type SqliteDriverName,
} from '../../src/stores/sqlite-drivers/sqlite-driver';
import { SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite.store';
import { useTempDir } from './temp-dir';

/**
 * The drivers the store's tests run against: every one this runtime has (better-sqlite3 and,
 * from Node 22.13, node:sqlite on Node; bun:sqlite on Bun). `SQLITE_TEST_DRIVERS=a,b` names
 * them instead, for a runtime whose better-sqlite3 build is another Node's. A driver named
 * here that cannot load fails its tests.
 */
export const SQLITE_TEST_DRIVERS: readonly SqliteDriverName[] = driversUnderTest();

function driversUnderTest(): SqliteDriverName[] {
  const listed = process.env.SQLITE_TEST_DRIVERS;
  if (listed) {
    const names = listed.split(',');
    const unknown = names.filter((name) => !(SQLITE_DRIVERS as readonly string[]).includes(name));
    if (unknown.length > 0)
      throw new Error(`SQLITE_TEST_DRIVERS=${listed}: expected some of ${SQLITE_DRIVERS.join(', ')}`);
    return names as SqliteDriverName[];
  }
  if (process.versions.bun !== undefined) return ['bun:sqlite'];
  return isBuiltin('node:sqlite') ? ['better-sqlite3', 'node:sqlite'] : ['better-sqlite3'];
}

/** Opens connections through the named driver, as the store would. */
export const sqliteDriver = (name: SqliteDriverName): SqliteDriver => loadSqliteDriver(name).driver;

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
  logger: { log: jest.Mock; warn: jest.Mock; error: jest.Mock };
  /** The store's own connection, to break it underneath. */
  db: SqliteConnection;
}

/**
 * Real SQLite files in a fresh temp folder per test, through the driver `driverName`. `boot()`
 * starts a registry + store on the test's file, as an app start would; every store still open
 * is closed after the test.
 */
export function useSqliteFile(clock: FakeClock, driverName: SqliteDriverName) {
  const dir = useTempDir();
  const open: SqliteStore[] = [];
  const readers: SqliteConnection[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    for (const db of readers.splice(0)) db.close();
  });
  const path = () => join(dir(), 'state', 'breakers.db');
  const driver = sqliteDriver(driverName);
  return {
    path,
    boot(
      { breakers = {}, defaults, flushInterval, maxKeysPerBreaker }: BootOptions = {},
      options?: Partial<SqliteStoreOptions>,
    ): Booted {
      const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
      let db: SqliteConnection | undefined;
      // The driver, keeping the first connection it opens: the store's own.
      const keeping: SqliteDriver = {
        name: driver.name,
        open: (file) => {
          const connection = driver.open(file);
          db ??= connection;
          return connection;
        },
      };
      const store = new SqliteStore(
        { type: 'sqlite', path: path(), flushInterval, ...options },
        logger,
        keeping,
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
      return { store, registry, logger, db: db! };
    },
    /** A second connection to the file, as another tool would open it. */
    reader(): SqliteConnection {
      const db = driver.open(path());
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
export function countStateWrites(db: SqliteConnection): () => number {
  db.exec(`
    CREATE TABLE state_writes (n INTEGER NOT NULL);
    INSERT INTO state_writes VALUES (0);
    CREATE TRIGGER count_inserts AFTER INSERT ON breaker_state BEGIN UPDATE state_writes SET n = n + 1; END;
    CREATE TRIGGER count_updates AFTER UPDATE ON breaker_state BEGIN UPDATE state_writes SET n = n + 1; END;
  `);
  const read = db.prepare<[], { n: number }>('SELECT n FROM state_writes');
  return () => read.get()!.n;
}
