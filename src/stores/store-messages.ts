export const SQLITE_DRIVER_MISSING = (): string =>
  `The sqlite store needs the optional peer dependency better-sqlite3, which is not installed: ` +
  `run \`npm install better-sqlite3\`, or use the runtime's own driver (driver: 'auto', or ` +
  `'node:sqlite' on Node >= 22.13 and Deno, 'bun:sqlite' on Bun), or store: { type: 'memory' }`;

export const SQLITE_DRIVER_BROKEN = (reason: string): string =>
  `The sqlite store could not load better-sqlite3: ${reason}`;

export const SQLITE_BUILT_IN_MISSING = (driver: string, runtime: string, reason: string): string =>
  `The sqlite store's driver ${driver} is not built into ${runtime} (${reason}): ` +
  (driver === 'bun:sqlite' ? 'it exists only on Bun' : 'it is built into Node >= 22.13 and Deno 2.2+') +
  `; install better-sqlite3 (\`npm install better-sqlite3\`) or leave driver at 'auto'`;

export const SQLITE_NO_DRIVER = (
  runtime: string,
  betterSqlite3: string,
  builtIn: string,
  reason: string,
): string =>
  `The sqlite store found no SQLite driver on ${runtime}: better-sqlite3 ${betterSqlite3}, and ${builtIn} ` +
  `is not built in (${reason}). Either install better-sqlite3 (\`npm install better-sqlite3\`), or run ` +
  `on a Node that has node:sqlite (>= 22.13), on Bun or on Deno`;

export const SQLITE_OPENED = (path: string, driver: string, passedOver: string | undefined): string =>
  `SQLite store "${path}" open through ${driver}` +
  (passedOver === undefined
    ? ''
    : ` (better-sqlite3 is installed but did not load: ${passedOver.replace(/\s*\n\s*/g, ' ')})`);

export const SQLITE_OPEN_FAILED = (path: string, reason: string): string =>
  `The sqlite store could not open "${path}": ${reason}`;

export const SQLITE_SCHEMA_TOO_NEW = (found: number, supported: number): string =>
  `the file was written by a newer nest-resilience (schema version ${found}; this one reads up to ${supported})`;

export const SQLITE_CORRUPT = (problem: string): string =>
  `the file is damaged (quick_check: ${problem}); move it aside to start with a new file, or restore a backup`;

export const SQLITE_FILE_REPLACED = (path: string): string =>
  `SQLite store "${path}": the file was deleted or replaced while in use, and what was written since would have been ` +
  `lost: the store creates a new file there and writes every breaker's current state into it ` +
  `(the audit entries the old file held are gone)`;

export const SQLITE_WRITE_FAILED = (path: string, reason: string, retryMs: number): string =>
  `SQLite store "${path}": writing breaker state failed (${reason}); breakers keep working from memory ` +
  `and the write is retried on the next transition or within ${retryMs} ms`;

export const SQLITE_WRITE_RECOVERED = (path: string): string =>
  `SQLite store "${path}": writes succeed again; every pending change is saved`;

export const SQLITE_READ_FAILED = (path: string, breaker: string, reason: string): string =>
  `SQLite store "${path}": could not restore breaker "${breaker}" (${reason}); it starts afresh ` +
  `(further breakers that cannot be restored start afresh without a warning until a read works again)`;

export const SQLITE_CLOSE_FAILED = (path: string, reason: string): string =>
  `SQLite store "${path}": closing the file failed (${reason})`;

export const AUDIT_ENTRIES_DROPPED = (path: string, kind: string, kept: number): string =>
  `SQLite store "${path}": audit entries are waiting on a failing store; beyond ${kept} ${kind} entries ` +
  `waiting, the oldest of them are dropped`;

export const REDIS_PEER_MISSING = (): string =>
  'The redis store with `url` needs the optional peer dependency redis (node-redis >= 5), which is not installed: ' +
  'run `npm install redis`, or pass your own node-redis or ioredis connection as `client`';

export const REDIS_DOWN = (prefix: string, reason: string, timeoutMs: number): string =>
  `Redis store "${prefix}": Redis does not answer (${reason}); breakers decide on this instance alone ` +
  `(no call waits on Redis more than ${timeoutMs} ms) and the fleet state is read again once it answers`;

/** The warning of an outage in which Redis answers, but refuses the store's fleet commands. */
export const REDIS_REFUSES = (prefix: string, reason: string): string =>
  `Redis store "${prefix}": Redis refuses the store's commands (${reason}); breakers decide on this ` +
  'instance alone, and the fleet state is read again once Redis runs them';

export const REDIS_RECOVERED = (prefix: string): string =>
  `Redis store "${prefix}": Redis answers again; the fleet state is read and openings made meanwhile reported`;

export const STORE_ALREADY_ATTACHED = (): string => 'A store can be attached to one registry only, once';

/** The message of an error of any kind (read, not `instanceof`: the error may come from another realm). */
export function reasonOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
