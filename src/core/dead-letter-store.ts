/** The error a dead letter's call finally failed with, as it is kept. @publicApi */
export interface DeadLetterError {
  name: string;
  message: string;
  /** The error's `code` when it has a string one (a `ResilienceError`'s, a Node system error's). */
  code?: string;
}

/**
 * A call that finally failed (no fallback served it), kept so that it can be looked at and
 * replayed through its policy. @publicApi
 */
export interface DeadLetter {
  /** Unique within its store; never reused after the entry is removed. */
  id: string;
  /** The named policy the call went through. */
  policy: string;
  /** The call's arguments, as they read back from JSON. */
  args: unknown[];
  error: DeadLetterError;
  /** How many times the call ran before it was given up (retries included). */
  attempts: number;
  /** When it was kept, in epoch ms. */
  at: number;
}

/** What is handed to a store to keep: everything but the id it gives. @publicApi */
export type NewDeadLetter = Omit<DeadLetter, 'id'>;

/**
 * Where dead letters are kept: the port every store's dead letters implement. Bounded: past
 * its capacity a store drops the oldest entries.
 * @publicApi
 */
export interface DeadLetterStore {
  /** Keeps one; resolves with it, id included. */
  add(letter: NewDeadLetter): Promise<DeadLetter>;
  /** Newest first: up to `limit` [100], of one policy or of all. */
  list(options?: { policy?: string; limit?: number }): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** True when there was one. */
  remove(id: string): Promise<boolean>;
  /** Removes every entry (of one policy, or of all); resolves with how many. */
  purge(policy?: string): Promise<number>;
  /**
   * For a store shared by processes: claims the letter `id` for one replay in all of them.
   * Resolves with the function that frees it, or with undefined while another holds it.
   * Without it, a replay is guarded in its own process only.
   */
  claim?(id: string): Promise<(() => Promise<void>) | undefined>;
  /**
   * For a store that can tell cheaply: `listener` is called, from now on (replacing any earlier
   * one), with the policy of each letter it drops to make room past its `capacity`. Without it,
   * such drops go unseen.
   */
  onDrop?(listener: DeadLetterDropListener): void;
}

/** Told of a letter a store dropped, the oldest, to keep its newest `capacity`. @publicApi */
export type DeadLetterDropListener = (policy: string, capacity: number) => void;

/**
 * How long a replay's claim on a letter lasts in a store shared by processes (ms): it frees
 * itself after this should the process replaying it die. A replay still running then may be
 * run again by another.
 */
export const REPLAY_CLAIM_MS = 10 * 60_000;

/** Entries a `MemoryDeadLetters` keeps by default. */
export const MEMORY_DEAD_LETTERS_KEPT = 1_000;

/**
 * Dead letters in memory: the newest `capacity` [1,000] entries; nothing survives a restart.
 * Entries are copied in and out, so what a caller does with one changes nothing kept.
 * @publicApi
 */
export class MemoryDeadLetters implements DeadLetterStore {
  /** Oldest first; ids are ascending. */
  private entries: DeadLetter[] = [];
  /**
   * Counted up from the time the store was made (ms × 1,000): a stale id from an earlier
   * process (a replay after a restart) names nothing here rather than another call.
   */
  private lastId = Date.now() * 1_000;
  private dropped: DeadLetterDropListener | undefined;

  constructor(private readonly capacity = MEMORY_DEAD_LETTERS_KEPT) {}

  async add(letter: NewDeadLetter): Promise<DeadLetter> {
    const kept = copy({ ...letter, id: String(++this.lastId) });
    this.entries.push(kept);
    if (this.entries.length > this.capacity) {
      const gone = this.entries.splice(0, this.entries.length - this.capacity);
      for (const entry of gone) this.dropped?.(entry.policy, this.capacity);
    }
    return copy(kept);
  }

  onDrop(listener: DeadLetterDropListener): void {
    this.dropped = listener;
  }

  async list({ policy, limit = 100 }: { policy?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i];
      if (policy === undefined || entry.policy === policy) out.push(copy(entry));
    }
    return out;
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const entry = this.entries.find((e) => e.id === id);
    return entry && copy(entry);
  }

  async remove(id: string): Promise<boolean> {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.id !== id);
    return this.entries.length < before;
  }

  async purge(policy?: string): Promise<number> {
    const before = this.entries.length;
    this.entries = policy === undefined ? [] : this.entries.filter((e) => e.policy !== policy);
    return before - this.entries.length;
  }
}

/** A deep copy, as a store that serialises would hand back (arguments are JSON by contract). */
function copy(letter: DeadLetter): DeadLetter {
  return JSON.parse(JSON.stringify(letter)) as DeadLetter;
}
