import { createHash } from 'node:crypto';

/**
 * A Lua script of the store, sent by its SHA1 (`EVALSHA`): its body crosses the wire only when
 * Redis answers that it does not hold it (`NOSCRIPT`: its first use since Redis started, a
 * failover, a `SCRIPT FLUSH`), once per Redis, not with every command.
 */
export interface LuaScript {
  readonly body: string;
  /** SHA1 of the body, in hex: how `EVALSHA` names it. */
  readonly sha: string;
}

export function luaScript(body: string): LuaScript {
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

/**
 * Whether `error` is Redis' answer that it does not hold the script sent by SHA1
 * (`NOSCRIPT No matching script`), from node-redis or ioredis alike.
 */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
