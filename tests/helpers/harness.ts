/**
 * A private world for one test file on the real servers: its own RabbitMQ vhost, its own Redis key
 * prefix, its own s3rver on a free port, and the services started in-process on free ports.
 * Everything it creates is removed by `cleanup`.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { startOptimizer, type RunningOptimizer } from '../../src/optimizer/server.js';
import { apiEnv, loadConfig, optimizerEnv, workerEnv } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { ObjectStore } from '../../src/shared/object-store.js';
import { startS3Endpoint, type RunningS3Endpoint } from '../../src/stack/s3-endpoint.js';
import { startWorker, type RunningWorker } from '../../src/worker/server.js';
import { freePort } from './ports.js';
import { waitReady } from './processes.js';

export { freePort } from './ports.js';

const RABBIT_BASE = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore' });
}

export interface Harness {
  name: string;
  rabbitUrl: string;
  redisPrefix: string;
  s3: RunningS3Endpoint;
  s3Dir: string;
  optimizerPort: number;
  /** Environment for child processes and configs: every service of this world reads it. */
  env: Record<string, string>;
  store: ObjectStore;
  redis: Redis;
  broker: ChannelModel;
  api?: RunningApi;
  optimizer?: RunningOptimizer;
  workers: RunningWorker[];
  startOptimizer(extra?: Record<string, string>): Promise<RunningOptimizer>;
  stopOptimizer(): Promise<void>;
  startApi(extra?: Record<string, string>): Promise<RunningApi>;
  startWorker(extra?: Record<string, string>): Promise<RunningWorker>;
  cleanup(): Promise<void>;
}

export async function createHarness(name: string): Promise<Harness> {
  const id = `${name}-${process.pid}-${Date.now().toString(36)}`;
  const vhost = `nws-test-${id}`;
  rabbitmqctl('add_vhost', vhost);
  rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const rabbitUrl = `${RABBIT_BASE.replace(/\/$/, '')}/${encodeURIComponent(vhost)}`;
  const redisPrefix = `test:${id}:`;
  const s3Dir = mkdtempSync(join(tmpdir(), `nws-s3-${name}-`));
  const s3 = await startS3Endpoint({ host: '127.0.0.1', port: 0, directory: s3Dir, bucket: 'watermark' });
  const optimizerPort = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RABBITMQ_URL: rabbitUrl,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    S3_ENDPOINT: s3.url,
    S3_BUCKET: 'watermark',
    OPTIMIZER_URL: `http://127.0.0.1:${optimizerPort}`,
    OPTIMIZER_TIMEOUT_MS: '5000',
    // Here the api and the optimizer often share one event loop, which a test's own work can hold
    // for a moment: the stall bound stays below the timeout but well above such a pause.
    // tests/integration/optimizer-stall.test.ts tries the default against a separate process.
    OPTIMIZER_STALL_MS: '4000',
    RETRY_DELAYS_MS: '100,200',
    OPTIMIZER_PROBE_INTERVAL_MS: '100',
    SHUTDOWN_GRACE_MS: '3000',
    HOST: '127.0.0.1',
  };
  const store = new ObjectStore({ endpoint: s3.url, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', bucket: 'watermark' });
  const redis = new Redis(REDIS_URL);
  const broker = await amqp.connect(rabbitUrl);
  const silent = createLogger('test', env.LOG_LEVEL);

  const harness: Harness = {
    name,
    rabbitUrl,
    redisPrefix,
    s3,
    s3Dir,
    optimizerPort,
    env,
    store,
    redis,
    broker,
    workers: [],
    async startOptimizer(extra = {}) {
      const config = loadConfig(optimizerEnv, { ...env, PORT: String(optimizerPort), ...extra });
      harness.optimizer = await startOptimizer(config, silent);
      return harness.optimizer;
    },
    async stopOptimizer() {
      await harness.optimizer?.stop();
      harness.optimizer = undefined;
    },
    async startApi(extra = {}) {
      harness.api = await startApi(loadConfig(apiEnv, { ...env, PORT: '0', ...extra }), silent);
      await waitReady(harness.api.url);
      return harness.api;
    },
    async startWorker(extra = {}) {
      const worker = await startWorker(loadConfig(workerEnv, { ...env, PORT: '0', ...extra }), silent);
      harness.workers.push(worker);
      await waitReady(worker.url);
      return worker;
    },
    async cleanup() {
      await Promise.allSettled(harness.workers.map((w) => w.stop()));
      await harness.api?.stop().catch(() => undefined);
      await harness.stopOptimizer().catch(() => undefined);
      await broker.close().catch(() => undefined);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await s3.stop().catch(() => undefined);
      rmSync(s3Dir, { recursive: true, force: true });
      try {
        rabbitmqctl('delete_vhost', vhost);
      } catch {
        // best effort: a leftover test vhost is harmless
      }
    },
  };
  return harness;
}

/** Uploads bytes as the browser does: multipart field `image`. */
export async function upload(
  apiUrl: string,
  data: Buffer,
  filename = 'photo.jpg',
  type = 'image/jpeg',
  headers: Record<string, string> = {},
): Promise<Response> {
  return uploadWith(apiUrl, data, { filename, type, headers });
}

export interface UploadOptions {
  filename?: string;
  type?: string;
  headers?: Record<string, string>;
  /** Watermark options as multipart text fields (sent before the file, as a browser's form does). */
  fields?: Record<string, string>;
  /** Watermark options as query parameters. */
  query?: Record<string, string>;
}

export async function uploadWith(apiUrl: string, data: Buffer, options: UploadOptions = {}): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(options.fields ?? {})) form.append(name, value);
  form.append('image', new Blob([data as Uint8Array<ArrayBuffer>], { type: options.type ?? 'image/jpeg' }), options.filename ?? 'photo.jpg');
  const query = new URLSearchParams(options.query ?? {}).toString();
  return fetch(`${apiUrl}/upload${query ? `?${query}` : ''}`, { method: 'POST', body: form, headers: options.headers ?? {} });
}
