/** What `jsonArgumentsCheck` finds. */
export interface JsonArgumentsCheck {
  /** What would not come back the same from JSON, as `args[1].when is a Date`. */
  problem?: string;
  /** Whether a list or object is nested deeper than the `maxDepth` checked (the rest was checked). */
  tooDeep: boolean;
}

/**
 * Checks that `args` would come back the same from JSON. Accepted: strings, finite numbers,
 * booleans, null, arrays and plain objects of those (an object property may be undefined: it
 * reads back absent, as it was). Nothing nested deeper than `maxDepth` is looked at: the check
 * recurses, and so would copying them, so arguments nested thousands of levels deep would
 * overflow the stack.
 */
export function jsonArgumentsCheck(args: readonly unknown[], maxDepth: number): JsonArgumentsCheck {
  const check = { tooDeep: false, maxDepth };
  const problem = problemIn(args, 'args', new Set(), 0, check);
  return { tooDeep: check.tooDeep, ...(problem !== undefined && { problem }) };
}

function problemIn(
  value: unknown,
  path: string,
  seen: Set<object>,
  depth: number,
  check: { tooDeep: boolean; maxDepth: number },
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      if (Object.is(value, -0)) return `${path} is -0 (JSON writes it as 0)`;
      return Number.isFinite(value) ? undefined : `${path} is ${value} (JSON writes it as null)`;
    case 'object':
      break;
    case 'undefined':
      return `${path} is undefined (JSON writes it as null in a list)`;
    default:
      return `${path} is a ${typeof value}`;
  }
  if (value === null) return undefined;
  if (depth >= check.maxDepth) {
    check.tooDeep = true;
    return undefined;
  }
  if (seen.has(value)) return `${path} refers back to an object that contains it`;
  const proto = Object.getPrototypeOf(value) as unknown;
  const list = Array.isArray(value);
  if (list ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    return `${path} is a ${(value as object).constructor?.name ?? 'class instance'}, not a plain ${list ? 'list' : 'object'}`;
  }
  // JSON writes only a list's items and an object's string keys: anything else would be lost.
  const keys = Reflect.ownKeys(value);
  const extra = keys.find((key) => typeof key === 'symbol' || (list && key !== 'length' && !isIndex(key)));
  if (extra !== undefined) return `${path} has the property ${String(extra)}, which JSON does not write`;
  seen.add(value);
  let found: string | undefined;
  if (list) {
    // An index loop, not reduce: a hole reads as undefined, which JSON writes as null.
    for (let i = 0; i < value.length && found === undefined; i++)
      found = problemIn(value[i], `${path}[${i}]`, seen, depth + 1, check);
  } else {
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) found = problemIn(item, `${path}.${key}`, seen, depth + 1, check);
      if (found !== undefined) break;
    }
  }
  seen.delete(value);
  return found;
}

function isIndex(key: string | symbol): boolean {
  return typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key);
}
