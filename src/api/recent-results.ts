/**
 * The api's memory of the results it was asked for last, in front of the Redis result cache: a hit
 * on one of them costs no Redis round trip and no copy of its bytes off the socket. A result enters
 * when it is read, not when it is made: one made and never asked for again (most of a stream of new
 * uploads) takes none of this memory, and a result asked for twice costs one Redis read.
 *
 * It is never stale: a result id is the content address of the original and its settings
 * (watermark/identity.ts), and a result, once made, never changes. So each api replica may keep
 * its own, and nothing needs invalidating. It is bounded by the bytes it holds
 * (RECENT_RESULTS_BYTES), least recently used out first.
 */
import { LRUCache } from 'lru-cache';
import type { CachedResult, ResultCache } from '../shared/cache.js';

export type ResultLookup = Pick<ResultCache, 'get' | 'set'>;

export class RecentResults implements ResultLookup {
  private readonly recent: LRUCache<string, CachedResult>;

  constructor(
    private readonly shared: ResultLookup,
    maxBytes: number,
  ) {
    // Counted by the memory a result keeps alive: a small reply may be a view into a larger socket read.
    this.recent = new LRUCache({ maxSize: maxBytes, sizeCalculation: (result) => Math.max(1, result.data.length, result.data.buffer.byteLength) });
  }

  async get(resultId: string): Promise<CachedResult | undefined> {
    const known = this.recent.get(resultId);
    if (known) return known;
    const cached = await this.shared.get(resultId);
    // lru-cache declines an entry larger than the whole budget: that result stays in Redis only.
    if (cached) this.recent.set(resultId, cached);
    return cached;
  }

  set(resultId: string, result: CachedResult): Promise<void> {
    return this.shared.set(resultId, result);
  }
}

/** The shared cache alone when the budget is 0, else with the recent results in front of it. */
export function withRecentResults(shared: ResultLookup, maxBytes: number): ResultLookup {
  return maxBytes > 0 ? new RecentResults(shared, maxBytes) : shared;
}
