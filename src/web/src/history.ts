/** The session's recent results, newest first, capped so object URLs do not pile up. */

export const HISTORY_LIMIT = 8;

export interface Keyed {
  id: number;
}

/** Puts `item` first and returns what fell off the end, so the caller can release it. */
export function pushRecent<T extends Keyed>(list: readonly T[], item: T, limit: number = HISTORY_LIMIT): { list: T[]; dropped: T[] } {
  const next = [item, ...list.filter((entry) => entry.id !== item.id)];
  return { list: next.slice(0, Math.max(1, limit)), dropped: next.slice(Math.max(1, limit)) };
}
