import { createHash } from 'node:crypto';

/**
 * A Lua script of the store, sent by its SHA1 (`EVALSHA`): its body crosses the wire as the
 * store's connection becomes ready (`SCRIPT LOAD`, at first and on every reconnect), and again
 * only when Redis answers that it does not hold it (`NOSCRIPT`: a `SCRIPT FLUSH`, a failover
 * the connection did not notice), not with every command.
 */
export interface LuaScript {
  readonly body: string;
  /** SHA1 of the body, in hex: how `EVALSHA` names it. */
  readonly sha: string;
}

/** Every script made by {@link luaScript}: the store loads them as its connection becomes ready. */
const everyScript: LuaScript[] = [];

export function luaScript(body: string): LuaScript {
  const script = { body, sha: createHash('sha1').update(body).digest('hex') };
  everyScript.push(script);
  return script;
}

/** The scripts the store may send (each made once, as its module loads). */
export function luaScripts(): readonly LuaScript[] {
  return everyScript;
}

/**
 * Whether `error` is Redis' answer that it does not hold the script sent by SHA1
 * (`NOSCRIPT No matching script`), from node-redis or ioredis alike.
 */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
