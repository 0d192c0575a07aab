import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock, type Clock } from '../core/clock';
import {
  REPLAY_CLAIM_MS,
  type DeadLetter,
  type DeadLetterDropListener,
  type DeadLetterStore,
  type NewDeadLetter,
} from '../core/dead-letter-store';
import { transaction } from './sqlite-database';
import type { SqliteConnection } from './sqlite-drivers/sqlite-driver';

/** Entries the sqlite store keeps; older ones are deleted as new ones arrive. */
export const SQLITE_DEAD_LETTERS_KEPT = 10_000;

interface DeadLetterRow {
  id: number;
  policy: string;
  args_json: string;
  error_json: string;
  attempts: number;
  at: number;
}

/** How long a write waits, in all, for another process's lock on the file before it fails. */
const BUSY_WAIT_MS = 5_000;

/**
 * The dead letters of the sqlite store: a table in the same file, so they survive a restart.
 * Written at once, not batched with breaker state: dead letters are rare, and one that was
 * kept must not be lost to a crash that follows. Holds the newest {@link SQLITE_DEAD_LETTERS_KEPT}.
 * A write that finds the file locked by another process (the store's busy timeout is 0, so
 * the event loop never blocks) is tried again, asynchronously, for up to 5 s: a letter must not
 * be lost, nor a replayed one kept, because another instance was writing at that moment.
 * A replay claims its letter in the file (the `dead_letter_claims` table), so processes sharing
 * it replay a letter once.
 */
export class SqliteDeadLetters implements DeadLetterStore {
  private statements!: ReturnType<typeof prepare>;
  private db!: SqliteConnection;
  private dropped: DeadLetterDropListener | undefined;

  /** @param clock dates claims; processes sharing the file must share the clock (the host's). */
  constructor(
    db: SqliteConnection,
    private readonly capacity = SQLITE_DEAD_LETTERS_KEPT,
    private readonly clock: Clock = systemClock,
  ) {
    this.use(db);
  }

  /** Works on `db` from now on: at start-up, and on the new file when the old one was deleted. */
  use(db: SqliteConnection): void {
    this.db = db;
    this.statements = prepare(db);
  }

  async add(letter: NewDeadLetter): Promise<DeadLetter> {
    const args = JSON.stringify(letter.args);
    const error = JSON.stringify(letter.error);
    const { id, gone } = await this.write(() => {
      const { insert, lastId, trim } = this.statements;
      insert.run(letter.policy, args, error, letter.attempts, letter.at);
      const { id: added } = lastId.get()!;
      // Ids only grow, so the newest `capacity` entries all have an id above this one.
      return { id: added, gone: trim.all(added - this.capacity) };
    });
    for (const { policy } of gone) this.dropped?.(policy, this.capacity);
    return toLetter({ ...letter, id, args_json: args, error_json: error });
  }

  async list({ policy, limit = 100 }: { policy?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const { newest, newestOf } = this.statements;
    const rows = policy === undefined ? newest.all(limit) : newestOf.all(policy, limit);
    return rows.map(toLetter);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const rowId = toRowId(id);
    const row = rowId === undefined ? undefined : this.statements.one.get(rowId);
    return row && toLetter(row);
  }

  async remove(id: string): Promise<boolean> {
    const rowId = toRowId(id);
    if (rowId === undefined) return false;
    return this.write(() => {
      if (this.statements.one.get(rowId) === undefined) return false;
      this.statements.remove.run(rowId);
      return true;
    });
  }

  async purge(policy?: string): Promise<number> {
    return this.write(() => {
      const { count, countOf, purge, purgeOf } = this.statements;
      const { n } = (policy === undefined ? count.get() : countOf.get(policy))!;
      if (policy === undefined) purge.run();
      else purgeOf.run(policy);
      return n;
    });
  }

  /**
   * Claims the letter for one replay in every process on the file, for {@link REPLAY_CLAIM_MS}
   * (a claim of a process that died frees itself then).
   */
  async claim(id: string): Promise<(() => Promise<void>) | undefined> {
    const rowId = toRowId(id);
    // An id no letter can have is not claimed: the replay finds nothing.
    if (rowId === undefined) return async () => undefined;
    const token = randomBytes(8).toString('hex');
    const claimed = await this.write(() => {
      const { dropExpiredClaims, addClaim, claimOf } = this.statements;
      const now = this.clock.now();
      dropExpiredClaims.run(now);
      addClaim.run(rowId, token, now + REPLAY_CLAIM_MS);
      return claimOf.get(rowId)?.token === token;
    });
    if (!claimed) return undefined;
    return async () => {
      // Only if still this replay's: past its lease it may be another's.
      await this.write(() => this.statements.freeClaim.run(rowId, token));
    };
  }

  onDrop(listener: DeadLetterDropListener): void {
    this.dropped = listener;
  }

  /**
   * Runs `work` in one transaction, all of it or none; while another process holds the file's
   * write lock, tries again after a pause that doubles, up to {@link BUSY_WAIT_MS} in all.
   * @throws the last error: a lock held longer, or any other failure at once.
   */
  private async write<T>(work: () => T): Promise<T> {
    let waited = 0;
    for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
      try {
        return transaction(this.db, work);
      } catch (error) {
        if (!isBusy(error) || waited >= BUSY_WAIT_MS) throw error;
      }
      await delay(pause);
      waited += pause;
    }
  }
}

/** Whether a driver's error says the file is locked by another connection (SQLITE_BUSY), whichever driver. */
function isBusy(error: unknown): boolean {
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  // Extended codes too (SQLITE_BUSY_SNAPSHOT: another process wrote since this transaction read).
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) return true;
  return (typeof errcode === 'number' && (errcode & 0xff) === 5) || /database is locked/i.test(String(error));
}

function prepare(db: SqliteConnection) {
  const columns = 'id, policy, args_json, error_json, attempts, at';
  return {
    insert: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO dead_letters (policy, args_json, error_json, attempts, at) VALUES (?, ?, ?, ?, ?)',
    ),
    lastId: db.prepare<[], { id: number }>('SELECT last_insert_rowid() AS id'),
    trim: db.prepare<[number], { policy: string }>('DELETE FROM dead_letters WHERE id <= ? RETURNING policy'),
    newest: db.prepare<[number], DeadLetterRow>(
      `SELECT ${columns} FROM dead_letters ORDER BY id DESC LIMIT ?`,
    ),
    newestOf: db.prepare<[string, number], DeadLetterRow>(
      `SELECT ${columns} FROM dead_letters WHERE policy = ? ORDER BY id DESC LIMIT ?`,
    ),
    one: db.prepare<[number], DeadLetterRow>(`SELECT ${columns} FROM dead_letters WHERE id = ?`),
    remove: db.prepare<[number]>('DELETE FROM dead_letters WHERE id = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters'),
    countOf: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters WHERE policy = ?'),
    purge: db.prepare('DELETE FROM dead_letters'),
    purgeOf: db.prepare<[string]>('DELETE FROM dead_letters WHERE policy = ?'),
    dropExpiredClaims: db.prepare<[number]>('DELETE FROM dead_letter_claims WHERE expires_at <= ?'),
    addClaim: db.prepare<[number, string, number]>(
      'INSERT OR IGNORE INTO dead_letter_claims (letter_id, token, expires_at) VALUES (?, ?, ?)',
    ),
    claimOf: db.prepare<[number], { token: string }>(
      'SELECT token FROM dead_letter_claims WHERE letter_id = ?',
    ),
    freeClaim: db.prepare<[number, string]>(
      'DELETE FROM dead_letter_claims WHERE letter_id = ? AND token = ?',
    ),
  };
}

/** An id as the table has it: a whole number, or undefined for a string no entry can have. */
function toRowId(id: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
}

function toLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: String(row.id),
    policy: row.policy,
    args: JSON.parse(row.args_json) as unknown[],
    error: JSON.parse(row.error_json) as DeadLetter['error'],
    attempts: Number(row.attempts),
    at: Number(row.at),
  };
}
