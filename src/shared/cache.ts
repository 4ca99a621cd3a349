/**
 * Redis adapters. Redis is a cache: result bytes with a TTL, and job state (status, attempts,
 * last error). Losing it loses no finished result, because the object store is the system of record.
 */
import { Redis } from 'ioredis';

export interface CachedResult {
  data: Buffer;
  contentType: string;
}

export type JobStatus = 'pending' | 'done' | 'failed';

export interface JobState {
  status: JobStatus;
  attempts: number;
  error?: string;
  updatedAt: string;
}

export function createRedis(url: string): Redis {
  return new Redis(url, {
    // Fail fast while Redis is down instead of queueing commands forever; callers degrade.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
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

export class JobStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(hash: string): string {
    return `${this.prefix}job:${hash}`;
  }

  async get(hash: string): Promise<JobState | undefined> {
    const fields = await this.redis.hgetall(this.key(hash));
    if (!fields.status) return undefined;
    const status = fields.status as JobStatus;
    return {
      status,
      attempts: Number(fields.attempts ?? 0),
      ...(fields.error ? { error: fields.error } : {}),
      updatedAt: fields.updatedAt ?? '',
    };
  }

  /**
   * Claims the job for `hash` as pending. Returns false when a pending job already exists, so two
   * identical uploads racing through the fallback publish one job, not two.
   */
  async claimPending(hash: string): Promise<boolean> {
    const key = this.key(hash);
    const claimed = await this.redis.eval(
      `local s = redis.call('HGET', KEYS[1], 'status')
       if s == 'pending' then return 0 end
       redis.call('DEL', KEYS[1])
       redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', 0, 'updatedAt', ARGV[1])
       redis.call('EXPIRE', KEYS[1], ARGV[2])
       return 1`,
      1,
      key,
      new Date().toISOString(),
      String(this.ttlSeconds),
    );
    return claimed === 1;
  }

  /** Gives a claim back when the job could not be published, so a later upload can try again. */
  async releasePending(hash: string): Promise<void> {
    await this.redis.del(this.key(hash));
  }

  async setPending(hash: string, attempts: number, error?: string): Promise<void> {
    await this.write(hash, { status: 'pending', attempts, ...(error ? { error } : {}) });
  }

  async markDone(hash: string, attempts: number): Promise<void> {
    await this.write(hash, { status: 'done', attempts });
  }

  async markFailed(hash: string, attempts: number, error: string): Promise<void> {
    await this.write(hash, { status: 'failed', attempts, error });
  }

  private async write(hash: string, state: Omit<JobState, 'updatedAt'>): Promise<void> {
    const key = this.key(hash);
    const fields: Record<string, string> = {
      status: state.status,
      attempts: String(state.attempts),
      updatedAt: new Date().toISOString(),
    };
    if (state.error) fields.error = state.error.slice(0, 500);
    const tx = this.redis.multi().del(key).hset(key, fields).expire(key, this.ttlSeconds);
    await tx.exec();
  }
}
