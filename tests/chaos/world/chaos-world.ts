/**
 * The whole system as real processes for fault injection: a dedicated RabbitMQ node and Redis,
 * the embedded S3 endpoint, the optimizer, the api and the workers, each supervised and restarted
 * after a crash the way the local stack (and Kubernetes) does. Faults are signals and restarts.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectStore } from '../../../src/shared/object-store.js';
import { serviceArgs } from '../../../src/shared/service-command.js';
import { waitForPort } from '../../../src/stack/local-services.js';
import { SupervisedProcess } from '../../../src/shared/process/supervisor.js';
import { freePort } from '../../helpers/harness.js';
import { waitReady } from '../../helpers/processes.js';
import { DedicatedRabbitMq } from './dedicated-rabbitmq.js';
import { DedicatedRedis } from './dedicated-redis.js';

export interface ChaosWorldOptions {
  workers?: number;
  /** Extra environment for every component (e.g. shorter timeouts). */
  env?: Record<string, string>;
}

export class ChaosWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'nws-chaos-'));
  readonly rabbit = new DedicatedRabbitMq(join(this.dir, 'rabbitmq'));
  readonly redis = new DedicatedRedis();
  readonly processes = new Map<string, SupervisedProcess>();
  readonly logs: string[] = [];
  /** Log lines already dropped from the front of `logs` (it keeps the last ones only). */
  private dropped = 0;
  ports: Record<string, number> = {};
  store!: ObjectStore;
  env: Record<string, string> = {};

  constructor(private readonly options: ChaosWorldOptions = {}) {
    // mkdtemp makes it 0700; the broker node runs as the rabbitmq user and must reach its folder.
    chmodSync(this.dir, 0o755);
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  get optimizerUrl(): string {
    return `http://127.0.0.1:${this.ports.optimizer}`;
  }

  workerUrl(i: number): string {
    return `http://127.0.0.1:${this.ports[`worker-${i}`]}`;
  }

  async start(): Promise<void> {
    await Promise.all([this.rabbit.start(), this.redis.start()]);
    const workers = this.options.workers ?? 2;
    for (const name of ['api', 'optimizer', 's3', ...Array.from({ length: workers }, (_, i) => `worker-${i + 1}`)]) {
      this.ports[name] = await freePort();
    }
    const s3Url = `http://127.0.0.1:${this.ports.s3}`;
    this.env = {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      RABBITMQ_URL: this.rabbit.url,
      REDIS_URL: this.redis.url,
      S3_ENDPOINT: s3Url,
      OPTIMIZER_URL: this.optimizerUrl,
      OPTIMIZER_TIMEOUT_MS: '1500',
      CIRCUIT_HALF_OPEN_AFTER_MS: '500',
      OPTIMIZER_PROBE_INTERVAL_MS: '200',
      RETRY_DELAYS_MS: '200,500',
      MAX_ATTEMPTS: '3',
      SHUTDOWN_GRACE_MS: '5000',
      ...this.options.env,
    };
    this.store = new ObjectStore({ endpoint: s3Url, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', bucket: 'watermark', timeoutMs: 3_000 });
    this.add('s3', 's3', { S3_PORT: String(this.ports.s3), S3_DATA_DIR: join(this.dir, 's3') });
    this.add('optimizer', 'optimizer', { PORT: String(this.ports.optimizer) });
    this.add('api', 'api', { PORT: String(this.ports.api) });
    // Workers wait longer on the optimizer than the api does, so a hung optimizer leaves them holding a job.
    for (let i = 1; i <= workers; i += 1) this.add(`worker-${i}`, 'worker', { PORT: String(this.ports[`worker-${i}`]), OPTIMIZER_TIMEOUT_MS: '10000' });
    this.processes.get('s3')!.start();
    await waitForPort('127.0.0.1', this.ports.s3!, 15_000);
    for (const [name, child] of this.processes) if (name !== 's3') child.start();
    await this.waitAllReady();
  }

  private add(name: string, command: string, extra: Record<string, string>): void {
    const output = (source: string, line: string) => {
      this.logs.push(`[${source}] ${line}`);
      if (this.logs.length > 2_000) this.dropped += this.logs.splice(0, 1_000).length;
    };
    // Restart quickly, as the stack does after a first crash; chaos repeats crashes on purpose.
    const child = new SupervisedProcess(
      { name, command: process.execPath, args: serviceArgs(command), env: { ...this.env, ...extra }, output },
      { backoffMs: [250, 500, 1_000] },
    );
    this.processes.set(name, child);
  }

  /** A position in the log, for `logsSince`. */
  logMark(): number {
    return this.dropped + this.logs.length;
  }

  /** The log lines written since `mark` (those still kept). */
  logsSince(mark: number): string[] {
    return this.logs.slice(Math.max(0, mark - this.dropped));
  }

  process(name: string): SupervisedProcess {
    const child = this.processes.get(name);
    if (!child) throw new Error(`no process ${name}`);
    return child;
  }

  /** Every HTTP component answers /readyz 200; one that does not is named, with its last answer and the last log lines. */
  async waitAllReady(timeoutMs = 60_000): Promise<void> {
    const components: [string, string][] = [
      ['api', this.apiUrl],
      ['optimizer', this.optimizerUrl],
      ...[...this.processes.keys()].filter((n) => n.startsWith('worker-')).map((n): [string, string] => [n, `http://127.0.0.1:${this.ports[n]}`]),
    ];
    await Promise.all(
      components.map(([name, url]) =>
        waitReady(url, timeoutMs).catch((err: unknown) => {
          throw new Error(`${name} not ready: ${err instanceof Error ? err.message : String(err)}\n${this.logs.slice(-40).join('\n')}`, { cause: err });
        }),
      ),
    );
  }

  /**
   * After a test that failed midway: whatever fault it left in place is undone (a component
   * stopped or SIGSTOPped, the broker killed or blocked, Redis down), so the next test starts from
   * a whole system instead of failing on this one's leftovers.
   */
  async restore(): Promise<void> {
    await Promise.all([this.rabbit.ensureRunning(), this.redis.ensureRunning()]);
    for (const child of this.processes.values()) {
      if (child.stopped) child.start();
      else child.signal('SIGCONT');
    }
    await this.waitAllReady();
  }

  async brokerConnection(): Promise<ChannelModel> {
    return amqp.connect(this.rabbit.url);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.processes.values()].map((p) => p.stop()));
    await Promise.allSettled([this.rabbit.stop(), this.redis.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
