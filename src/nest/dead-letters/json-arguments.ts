/**
 * What in `args` would not come back the same from JSON, as `args[1].when is a Date`; undefined
 * when all of it would. Accepted: strings, finite numbers, booleans, null, arrays and plain
 * objects of those (an object property may be undefined: it reads back absent, as it was).
 */
export function jsonProblemIn(args: readonly unknown[]): string | undefined {
  return problemIn(args, 'args', new Set());
}

function problemIn(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value} (JSON writes it as null)`;
    case 'object':
      break;
    case 'undefined':
      return `${path} is undefined (JSON writes it as null in a list)`;
    default:
      return `${path} is a ${typeof value}`;
  }
  if (value === null) return undefined;
  if (seen.has(value)) return `${path} refers back to an object that contains it`;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    return `${path} is a ${(value as object).constructor?.name ?? 'class instance'}, not a plain object`;
  }
  seen.add(value);
  const found = Array.isArray(value)
    ? value.reduce<string | undefined>((p, item, i) => p ?? problemIn(item, `${path}[${i}]`, seen), undefined)
    : Object.entries(value).reduce<string | undefined>(
        (p, [key, item]) => p ?? (item === undefined ? undefined : problemIn(item, `${path}.${key}`, seen)),
        undefined,
      );
  seen.delete(value);
  return found;
}
