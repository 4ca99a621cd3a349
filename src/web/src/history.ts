/** The session's recent results, newest first, capped so object URLs do not pile up. */

export const HISTORY_LIMIT = 8;

export interface Keyed {
  id: number;
}

/**
 * Puts `item` first and returns what fell off the end or was replaced, so the caller can release
 * it. `same` says which older entry `item` replaces (by default the one with its `id`).
 */
export function pushRecent<T extends Keyed>(
  list: readonly T[],
  item: T,
  limit: number = HISTORY_LIMIT,
  same: (a: T, b: T) => boolean = (a, b) => a.id === b.id,
): { list: T[]; dropped: T[] } {
  const replaced = list.filter((entry) => same(entry, item));
  const next = [item, ...list.filter((entry) => !same(entry, item))];
  return { list: next.slice(0, Math.max(1, limit)), dropped: [...replaced.filter((entry) => entry !== item), ...next.slice(Math.max(1, limit))] };
}
