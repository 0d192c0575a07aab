/**
 * The name among `known` that `name` most likely misspells: one that differs from it only in
 * case, or by at most two edits (a character added, dropped or changed); undefined when `name`
 * is known itself or nothing is that close. Names of three characters or fewer never match.
 */
export function misspelledName(name: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    if (candidate === name) return undefined;
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate, 2);
    if (distance <= 2 && Math.min(name.length, candidate.length) > 3 && (best?.distance ?? 3) > distance)
      best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance of `a` and `b`, or `limit + 1` once it is known to exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}
