/** A stream entry as Redis answers it: its id, then its fields and values, alternating. */
export type StreamEntry = [id: string, fields: string[]];

/** Entries read per round trip while looking for the ones a filter keeps. */
const PAGE = 500;

/**
 * Up to `limit` entries of stream `key`, newest first, as `convert` makes them, of those
 * `keep` accepts (all without it). `range` runs `XREVRANGE` with the arguments after the key.
 */
export async function newestFirst<T>(
  range: (args: string[]) => Promise<StreamEntry[]>,
  limit: number,
  convert: (entry: StreamEntry) => T,
  keep?: (item: T) => boolean,
): Promise<T[]> {
  const found: T[] = [];
  let end = '+';
  while (found.length < limit) {
    const count = keep === undefined ? limit - found.length : PAGE;
    const page = await range([end, '-', 'COUNT', String(count)]);
    for (const entry of page) {
      const item = convert(entry);
      if (keep === undefined || keep(item)) found.push(item);
    }
    if (page.length < count) break;
    end = `(${page[page.length - 1][0]}`;
  }
  return found.slice(0, limit);
}

/** An entry's fields by name. */
export function fieldsOf(fields: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = String(fields[i + 1]);
  return f;
}
