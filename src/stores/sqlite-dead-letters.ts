import type { DeadLetter, DeadLetterStore, NewDeadLetter } from '../core/dead-letter-store';
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

/**
 * The dead letters of the sqlite store: a table in the same file, so they survive a restart.
 * Written at once, not batched with breaker state: dead letters are rare, and one that was
 * kept must not be lost to a crash that follows. Holds the newest {@link SQLITE_DEAD_LETTERS_KEPT}.
 */
export class SqliteDeadLetters implements DeadLetterStore {
  private statements!: ReturnType<typeof prepare>;

  constructor(
    db: SqliteConnection,
    private readonly capacity = SQLITE_DEAD_LETTERS_KEPT,
  ) {
    this.use(db);
  }

  /** Works on `db` from now on: at start-up, and on the new file when the old one was deleted. */
  use(db: SqliteConnection): void {
    this.statements = prepare(db);
  }

  async add(letter: NewDeadLetter): Promise<DeadLetter> {
    const { insert, lastId, trim } = this.statements;
    const error = JSON.stringify(letter.error);
    insert.run(letter.policy, JSON.stringify(letter.args), error, letter.attempts, letter.at);
    const { id } = lastId.get()!;
    // Ids only grow, so the newest `capacity` entries all have an id above this one.
    trim.run(id - this.capacity);
    return toLetter({ ...letter, id, args_json: JSON.stringify(letter.args), error_json: error });
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
    if (rowId === undefined || this.statements.one.get(rowId) === undefined) return false;
    this.statements.remove.run(rowId);
    return true;
  }

  async purge(policy?: string): Promise<number> {
    const { count, countOf, purge, purgeOf } = this.statements;
    const { n } = (policy === undefined ? count.get() : countOf.get(policy))!;
    if (policy === undefined) purge.run();
    else purgeOf.run(policy);
    return n;
  }
}

function prepare(db: SqliteConnection) {
  const columns = 'id, policy, args_json, error_json, attempts, at';
  return {
    insert: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO dead_letters (policy, args_json, error_json, attempts, at) VALUES (?, ?, ?, ?, ?)',
    ),
    lastId: db.prepare<[], { id: number }>('SELECT last_insert_rowid() AS id'),
    trim: db.prepare<[number]>('DELETE FROM dead_letters WHERE id <= ?'),
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
