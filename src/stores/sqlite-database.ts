import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SqliteConnection, SqliteDriver } from './sqlite-drivers/sqlite-driver';
import * as messages from './store-messages';

/** Bumped whenever the tables change; a file from a newer version is refused rather than misread. */
export const SCHEMA_VERSION = 4;

/** The tables of schema version 1. */
const SCHEMA_1 = `
  CREATE TABLE IF NOT EXISTS breaker_state (
    name          TEXT PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL,
    opened_at     INTEGER,
    open_duration INTEGER NOT NULL,
    trip_count    INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    window_json   TEXT NOT NULL,
    saved_at      INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY,
    breaker    TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_log_by_breaker ON audit_log (breaker, id);
`;

/**
 * Version 2: each audit entry carries its kind (0 manual action, 1 transition of a named
 * breaker, 2 transition of a per-key breaker, as in `AUDIT_KINDS`), each kind kept to its own
 * bound. A per-key breaker's row is named `name#key`; rows of version 1 read as named breakers.
 */
const SCHEMA_2 = `
  ALTER TABLE audit_log ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
  UPDATE audit_log SET kind = CASE
    WHEN action <> 'transition' THEN 0 WHEN instr(breaker, '#') > 0 THEN 2 ELSE 1 END;
  CREATE INDEX audit_log_by_kind ON audit_log (kind, id);
`;

/**
 * Version 3: dead letters, newest kept (see `SqliteDeadLetters`). AUTOINCREMENT so that an id
 * is never given again after its entry was removed: a replay by a stale id finds nothing
 * rather than another call.
 */
const SCHEMA_3 = `
  CREATE TABLE dead_letters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    policy     TEXT NOT NULL,
    args_json  TEXT NOT NULL,
    error_json TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    at         INTEGER NOT NULL
  );
  CREATE INDEX dead_letters_by_policy ON dead_letters (policy, id);
`;

/**
 * Version 4: a replay's claim on a dead letter (see `SqliteDeadLetters.claim`), so that processes
 * sharing the file replay a letter once. Its own table: a letter's row is never rewritten.
 */
const SCHEMA_4 = `
  CREATE TABLE IF NOT EXISTS dead_letter_claims (
    letter_id  INTEGER PRIMARY KEY NOT NULL,
    token      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
`;

/** What tells one file from another at the same path. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** How long opening the file may wait for another process's lock (start-up only). */
const OPEN_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (creating when missing, folder included) the store's database in WAL mode and brings
 * its tables up to date.
 *
 * WAL with `synchronous = NORMAL`: every commit is appended to the write-ahead log before it
 * returns, so a process that dies (even by `kill -9`) loses no committed write and never
 * leaves a torn file; only a power cut may lose the last commits, never consistency.
 * After start-up the busy timeout drops to 0: a write never blocks the event loop waiting for
 * another process's lock, it fails and is retried.
 */
export function openSqliteDatabase(path: string, driver: SqliteDriver): SqliteConnection {
  let db: SqliteConnection | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    db = driver.open(path);
    db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    migrate(db);
    checkIntact(db);
    db.exec('PRAGMA busy_timeout = 0');
    return db;
  } catch (error) {
    db?.close();
    throw new Error(messages.SQLITE_OPEN_FAILED(path, messages.reasonOf(error)), { cause: error });
  }
}

/** The file now at `path`, or undefined when there is none (it was deleted). */
export function fileIdentity(path: string): FileIdentity | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats && { dev: stats.dev, ino: stats.ino };
}

/**
 * Runs `work` in one transaction: committed when it returns, rolled back when it throws.
 * @throws what `work`, or the commit, threw.
 */
export function transaction<T>(db: SqliteConnection, work: () => T): T {
  db.exec('BEGIN');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back (some errors do that), or the connection is gone: the error that matters is `error`.
    }
    throw error;
  }
}

function migrate(db: SqliteConnection): void {
  const { user_version: version } = db.prepare<[], { user_version: number }>('PRAGMA user_version').get()!;
  if (version > SCHEMA_VERSION) throw new Error(messages.SQLITE_SCHEMA_TOO_NEW(version, SCHEMA_VERSION));
  if (version === SCHEMA_VERSION) return;
  transaction(db, () => {
    if (version < 1) db.exec(SCHEMA_1);
    if (version < 2) db.exec(SCHEMA_2);
    if (version < 3) db.exec(SCHEMA_3);
    db.exec(SCHEMA_4);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}

/**
 * Refuses a damaged file at start-up with one clear error, rather than a warning for every
 * breaker restored from it later. `quick_check` reads every page once: the file is small
 * (rows are bounded), so this costs milliseconds.
 */
function checkIntact(db: SqliteConnection): void {
  const [{ quick_check: result }] = db.prepare<[], { quick_check: string }>('PRAGMA quick_check(1)').all();
  if (result === 'ok') return;
  // One line: the problem without SQLite's "*** in database main ***" heading.
  const problem = result
    .split('\n')
    .filter((line) => !line.startsWith('***'))
    .join('; ');
  throw new Error(messages.SQLITE_CORRUPT(problem));
}
