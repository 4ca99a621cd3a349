/**
 * The job records in Redis: one hash per job with its state, attempts and last error, written by
 * the api (claim, done) and the worker (retrying, done, failed), read by both. It answers
 * `/status` quickly and de-duplicates queued jobs; it is not the record of results (the object
 * store is), so the api falls back to the store when a record is missing.
 */
import type { Redis } from 'ioredis';
import { JobStateSchema, type JobState } from './contracts/index.js';

/** A job as Redis keeps it. `status` has the status view's states (the view is built from it). */
export interface JobRecord {
  status: JobState;
  attempts: number;
  error?: string;
  updatedAt: string;
}

export class JobRecordStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(hash: string): string {
    return `${this.prefix}job:${hash}`;
  }

  /** The record, or undefined when there is none (or its state is not one of the contract's). */
  async get(hash: string): Promise<JobRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(hash));
    const status = JobStateSchema.safeParse(fields.status);
    if (!status.success) return undefined;
    return {
      status: status.data,
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

  private async write(hash: string, state: Omit<JobRecord, 'updatedAt'>): Promise<void> {
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
