/**
 * The Redis connection, and the result cache on it: result bytes with a TTL, keyed by the watermark
 * settings. Losing it loses no finished result, because the object store is the system of record.
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

  private key(hash: string, fingerprint: string): string {
    // The fingerprint of the watermark settings is part of the key: new settings never serve old results.
    return `${this.prefix}result:${fingerprint}:${hash}`;
  }

  async get(hash: string, fingerprint: string): Promise<CachedResult | undefined> {
    const fields = await this.redis.hmgetBuffer(this.key(hash, fingerprint), 'data', 'type');
    const [data, type] = fields;
    if (!data || !type) return undefined;
    return { data, contentType: type.toString() };
  }

  async set(hash: string, fingerprint: string, result: CachedResult): Promise<void> {
    const key = this.key(hash, fingerprint);
    await this.redis.multi().hset(key, 'data', result.data, 'type', result.contentType).expire(key, this.ttlSeconds).exec();
  }

  /** The last watermark fingerprint the optimizer reported, so cache hits work while it is down. */
  async getFingerprint(): Promise<string | undefined> {
    return (await this.redis.get(`${this.prefix}optimizer:fingerprint`)) ?? undefined;
  }

  async setFingerprint(fingerprint: string): Promise<void> {
    await this.redis.set(`${this.prefix}optimizer:fingerprint`, fingerprint);
  }
}
