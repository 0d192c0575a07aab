import { randomBytes } from 'node:crypto';
import {
  REPLAY_CLAIM_MS,
  type DeadLetter,
  type DeadLetterStore,
  type NewDeadLetter,
} from '../../core/dead-letter-store';
import { luaScript, type LuaScript } from './lua-script';
import { PURGE_DEAD_LETTERS_SCRIPT } from './redis-scripts';
import { fieldsOf, newestFirst, type StreamEntry } from './redis-stream';

/** Entries the redis store keeps (`XADD … MAXLEN`); the oldest are dropped as new ones arrive. */
export const REDIS_DEAD_LETTERS_KEPT = 10_000;

/** Frees a claim only if it is still this replay's (its lease may have passed to another). */
const RELEASE_CLAIM_SCRIPT = luaScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

/** How the dead letters reach Redis: through the store, which bounds and counts every command. */
export interface DeadLetterCommands {
  command(operation: string, args: string[]): Promise<unknown>;
  /** Runs a script by its SHA1 (its body when Redis lacks it). */
  script(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /** The stream's key. */
  readonly key: string;
}

/**
 * The dead letters of the redis store: one stream shared by the fleet, so a letter kept on one
 * instance is listed and replayed from any. Ids are the stream's: they only grow, and a removed
 * one is never given again. Holds the newest {@link REDIS_DEAD_LETTERS_KEPT}. While Redis is
 * down a letter cannot be kept: `add` rejects, and the module logs the letter lost.
 * It has no `onDrop`: `XADD … MAXLEN` answers with the new id only, whether it trimmed or not, and
 * telling would cost another command with every letter.
 */
export class RedisDeadLetters implements DeadLetterStore {
  constructor(
    private readonly redis: DeadLetterCommands,
    private readonly capacity = REDIS_DEAD_LETTERS_KEPT,
  ) {}

  async add(letter: NewDeadLetter): Promise<DeadLetter> {
    const fields = {
      policy: letter.policy,
      args: JSON.stringify(letter.args),
      error: JSON.stringify(letter.error),
      attempts: String(letter.attempts),
      at: String(letter.at),
    };
    const id = await this.redis.command('dead_letters', [
      'XADD',
      this.redis.key,
      'MAXLEN',
      String(this.capacity),
      '*',
      ...Object.entries(fields).flat(),
    ]);
    return toLetter(String(id), Object.entries(fields).flat());
  }

  async list({ policy, limit = 100 }: { policy?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    return newestFirst(
      (args) => this.range('XREVRANGE', ...args),
      limit,
      ([id, fields]) => toLetter(id, fields),
      policy === undefined ? undefined : (letter) => letter.policy === policy,
    );
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!isStreamId(id)) return undefined;
    const [entry] = await this.range('XRANGE', id, id);
    return entry && toLetter(entry[0], entry[1]);
  }

  async remove(id: string): Promise<boolean> {
    if (!isStreamId(id)) return false;
    return Number(await this.redis.command('dead_letters', ['XDEL', this.redis.key, id])) > 0;
  }

  async purge(policy?: string): Promise<number> {
    const removed = await this.redis.script(
      'dead_letters',
      PURGE_DEAD_LETTERS_SCRIPT,
      [this.redis.key],
      [policy === undefined ? 'all' : 'one', policy ?? ''],
    );
    return Number(removed);
  }

  /**
   * Claims the letter for one replay in the whole fleet (`SET NX` with a lease of
   * {@link REPLAY_CLAIM_MS}), so two instances asked to replay it at once do not both run it.
   */
  async claim(id: string): Promise<(() => Promise<void>) | undefined> {
    // An id no letter can have is not claimed: the replay finds nothing.
    if (!isStreamId(id)) return async () => undefined;
    const key = `${this.redis.key}:replaying:${id}`;
    const token = randomBytes(8).toString('hex');
    const set = ['SET', key, token, 'NX', 'PX', String(REPLAY_CLAIM_MS)];
    if ((await this.redis.command('dead_letters', set)) === null) return undefined;
    return async () => {
      await this.redis.script('dead_letters', RELEASE_CLAIM_SCRIPT, [key], [token]);
    };
  }

  private range(command: 'XRANGE' | 'XREVRANGE', ...args: string[]): Promise<StreamEntry[]> {
    return this.redis.command('dead_letters', [command, this.redis.key, ...args]) as Promise<StreamEntry[]>;
  }
}

/** The largest part of a stream id Redis takes. */
const MAX_ID_PART = 2n ** 64n - 1n;

/**
 * Whether `id` is a stream id (`<ms>-<seq>`) as Redis writes it: anything else names no letter.
 * Redis would read `0<id>` as `<id>` too: such a spelling must not name it (a second replay lock).
 */
function isStreamId(id: string): boolean {
  return (
    /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/.test(id) &&
    id.split('-').every((part) => BigInt(part) <= MAX_ID_PART)
  );
}

function toLetter(id: string, fields: string[]): DeadLetter {
  const f = fieldsOf(fields);
  return {
    id,
    policy: f.policy,
    args: JSON.parse(f.args) as unknown[],
    error: JSON.parse(f.error) as DeadLetter['error'],
    attempts: Number(f.attempts),
    at: Number(f.at),
  };
}
