/**
 * The bench's private world on this machine: a RabbitMQ vhost, a Redis key prefix, and every
 * service as a real process of the built CLI (the s3 endpoint, the optimizer, the api, workers, the
 * controller), so the load generator in this process never shares an event loop with them and each
 * one's memory is its own. Everything it creates is removed by `close`.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ObjectStore } from '../../src/shared/object-store.js';
import { freePort, reservePorts } from '../helpers/ports.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const RABBIT_BASE = (process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

export interface Service {
  name: string;
  url: string;
  child: ChildComponent;
  pid: number;
}

export class BenchWorld {
  readonly id = `bench-${process.pid}-${Date.now().toString(36)}`;
  readonly vhost = `nws-${this.id}`;
  readonly rabbitUrl = `${RABBIT_BASE}/${encodeURIComponent(this.vhost)}`;
  readonly redisPrefix = `${this.id}:`;
  readonly dir = mkdtempSync(join(tmpdir(), 'nws-bench-'));
  readonly services = new Map<string, Service>();
  env: Record<string, string> = {};
  store!: ObjectStore;
  redis!: Redis;
  broker!: ChannelModel;
  optimizerPort = 0;

  async open(): Promise<void> {
    rabbitmqctl('add_vhost', this.vhost);
    rabbitmqctl('set_permissions', '-p', this.vhost, 'guest', '.*', '.*', '.*');
    this.optimizerPort = await freePort();
    const s3Port = await freePort();
    this.env = {
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      RABBITMQ_URL: this.rabbitUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: this.redisPrefix,
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      S3_BUCKET: 'watermark',
      OPTIMIZER_URL: `http://127.0.0.1:${this.optimizerPort}`,
      OPTIMIZER_TIMEOUT_MS: '30000',
      SHUTDOWN_GRACE_MS: '5000',
    };
    await this.start('s3', 's3', { S3_PORT: String(s3Port), S3_DATA_DIR: join(this.dir, 's3'), LOG_LEVEL: 'warn' }, `http://127.0.0.1:${s3Port}`, false);
    this.store = new ObjectStore({ endpoint: this.env.S3_ENDPOINT!, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', bucket: 'watermark' });
    await waitFor(() => this.store.ping(), { timeoutMs: 20_000, what: 'the s3 endpoint' });
    this.redis = new Redis(REDIS_URL);
    this.broker = await amqp.connect(this.rabbitUrl);
  }

  /** Starts `nws-watermark <command>` as `name`; resolves once it is ready. */
  async start(name: string, command: string, extra: Record<string, string> = {}, url?: string, probe = true): Promise<Service> {
    const port = extra.PORT ?? String(await freePort());
    // BENCH_PROFILE=<dir>: every service writes a V8 CPU profile there when it stops (open in Chrome DevTools).
    const nodeArgs = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_PROFILE, name)}`] : [];
    const child = spawnComponent(command, { ...this.env, PORT: port, ...extra }, nodeArgs);
    const service: Service = { name, url: url ?? `http://127.0.0.1:${port}`, child, pid: child.process.pid ?? 0 };
    this.services.set(name, service);
    if (probe) await waitReady(service.url, 30_000);
    return service;
  }

  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const service = this.services.get(name);
    if (!service) return;
    this.services.delete(name);
    service.child.kill(signal);
    await service.child.exited;
  }

  startOptimizer(extra: Record<string, string> = {}): Promise<Service> {
    return this.start('optimizer', 'optimizer', { PORT: String(this.optimizerPort), ...extra });
  }

  startApi(extra: Record<string, string> = {}): Promise<Service> {
    return this.start('api', 'api', { LOG_LEVEL: 'warn', ...extra });
  }

  /** Ready and consuming: the readiness probe says the broker answers. */
  startWorker(index: number, extra: Record<string, string> = {}): Promise<Service> {
    return this.start(`worker-${index}`, 'worker', extra);
  }

  /** The controller in local mode, driving its own worker processes from a QueueScaler file. */
  async startController(spec: string): Promise<Service> {
    const file = join(this.dir, 'queuescaler.yaml');
    writeFileSync(file, spec);
    return this.start('controller', 'controller', {
      CONTROLLER_MODE: 'local',
      QUEUE_SCALER_FILE: file,
      WORKER_PORT: String(await reservePorts(4)), // workers take WORKER_PORT, WORKER_PORT+1, …
    });
  }

  async purge(queue: string): Promise<void> {
    const ch = await this.broker.createChannel();
    ch.on('error', () => undefined);
    await ch.purgeQueue(queue).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }

  async consumers(queue: string): Promise<number> {
    const ch = await this.broker.createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).consumerCount;
    } catch {
      return 0;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.services.keys()].reverse()) await this.stop(name).catch(() => undefined);
    await this.broker?.close().catch(() => undefined);
    if (this.redis) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.redisPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.redis.del(...keys);
      } while (cursor !== '0');
      this.redis.disconnect();
    }
    rmSync(this.dir, { recursive: true, force: true });
    try {
      rabbitmqctl('delete_vhost', this.vhost);
    } catch {
      // a leftover bench vhost is harmless
    }
  }
}
