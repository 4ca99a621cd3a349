/**
 * The Redis connection, and the result cache on it: result bytes with a TTL, keyed by result id
 * (the original's hash and the settings together, watermark/identity.ts). Losing it loses no finished result, because the object store is the system of record.
 * (The job records live in the same Redis: job-record-store.ts.)
 */
import { Redis } from 'ioredis';

export interface CachedResult {
  data: Buffer;
  contentType: string;
}

export function createRedis(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    // Fail fast while Redis is down instead of queueing commands forever; callers degrade.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    lazyConnect: false,
  });
}

export class ResultCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(resultId: string): string {
    return `${this.prefix}result:${resultId}`;
  }

  async get(resultId: string): Promise<CachedResult | undefined> {
    const [data, type] = await this.redis.hmgetBuffer(this.key(resultId), 'data', 'type');
    if (!data || !type) return undefined;
    return { data, contentType: type.toString() };
  }

  async set(resultId: string, result: CachedResult): Promise<void> {
    const key = this.key(resultId);
    await this.redis.multi().hset(key, 'data', result.data, 'type', result.contentType).expire(key, this.ttlSeconds).exec();
  }
}
