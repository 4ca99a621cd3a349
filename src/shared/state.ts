/**
 * The state adapters the api and the worker both hold, built from the common configuration:
 * Redis (result cache and job records) and the object store (the system of record).
 */
import type { Redis } from 'ioredis';
import { createRedis, ResultCache } from './cache.js';
import type { CommonConfig } from './config.js';
import { JobRecordStore } from './job-record-store.js';
import type { Logger } from './logger.js';
import { ObjectStore } from './object-store.js';

export interface StateAdapters {
  redis: Redis;
  results: ResultCache;
  jobs: JobRecordStore;
  store: ObjectStore;
}

export function createStateAdapters(config: CommonConfig, logger: Logger): StateAdapters {
  const redis = createRedis(config.REDIS_URL, config.REDIS_TIMEOUT_MS);
  // ioredis reconnects by itself; callers degrade per call, so its errors are only worth a debug line.
  redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis error'));
  return {
    redis,
    results: new ResultCache(redis, config.REDIS_KEY_PREFIX, config.RESULT_TTL_SECONDS),
    jobs: new JobRecordStore(redis, config.REDIS_KEY_PREFIX, config.JOB_STATE_TTL_SECONDS),
    store: new ObjectStore({
      endpoint: config.S3_ENDPOINT,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      region: config.S3_REGION,
      bucket: config.S3_BUCKET,
      timeoutMs: config.S3_TIMEOUT_MS,
    }),
  };
}
