/**
 * `nws-watermark stack`: the whole system on one machine. It makes sure RabbitMQ and Redis answer,
 * runs the embedded S3 endpoint (unless S3_ENDPOINT names another), then supervises the optimizer,
 * the api and the controller as child processes, restarting any that crash. The controller, in
 * local mode, scales worker processes from the queue depth (config/local-queuescaler.yaml).
 * Ctrl-C stops everything; workers drain.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { commonEnv } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import { EXIT_CODES, runService, type RunningService, type StopReport } from '../shared/lifecycle.js';
import { serviceArgs } from '../shared/service-command.js';
import { redactUrl } from '../shared/broker/connection.js';
import { ensureRabbitMq, ensureRedis, MissingServiceError, waitForPort } from './local-services.js';
import { DEFAULT_STOP_GRACE_MS, SupervisedProcess } from '../shared/process/supervisor.js';
import { readQueueScalerFile, requireValid } from '../controller/local/queue-scaler-file.js';

const stackEnv = z.object({
  /** The components' log level (they get the stack's environment); checked here once for all of them. */
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  RABBITMQ_URL: commonEnv.RABBITMQ_URL,
  REDIS_URL: commonEnv.REDIS_URL,
  S3_ENDPOINT: z.url().optional(),
  STACK_DATA_DIR: z.string().min(1).default('.data'),
  API_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  OPTIMIZER_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
  WORKER_PORT: z.coerce.number().int().min(1).max(65535).default(3002),
  S3_PORT: z.coerce.number().int().min(1).max(65535).default(9000),
  CONTROLLER_PORT: z.coerce.number().int().min(1).max(65535).default(3003),
  /** The QueueScaler the local controller runs. */
  QUEUE_SCALER_FILE: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../../config/local-queuescaler.yaml', import.meta.url))),
});
type StackConfig = z.infer<typeof stackEnv>;

/** The stack as a RunningService: its url is the page's, and each component serves its own /metrics. */
export interface RunningStack extends RunningService {
  registry: undefined;
  processes: Map<string, SupervisedProcess>;
  /** What runs where, as the start-up summary prints it. */
  urls: Record<string, string>;
}

/**
 * The stop takes at most two supervisor stops one after the other: the components together, then
 * the store. Each child is killed when its own grace is over, so this never cuts a child loose.
 */
const STACK_GRACE_MS = 2 * DEFAULT_STOP_GRACE_MS;

export async function startStack(config: StackConfig, env: NodeJS.ProcessEnv = process.env): Promise<RunningStack> {
  const rabbit = await ensureRabbitMq(config.RABBITMQ_URL);
  const redis = await ensureRedis(config.REDIS_URL);
  const embeddedS3 = config.S3_ENDPOINT === undefined;
  const s3Endpoint = config.S3_ENDPOINT ?? `http://127.0.0.1:${config.S3_PORT}`;
  const optimizerUrl = `http://127.0.0.1:${config.OPTIMIZER_PORT}`;
  const shared: NodeJS.ProcessEnv = {
    ...env,
    RABBITMQ_URL: config.RABBITMQ_URL,
    REDIS_URL: config.REDIS_URL,
    S3_ENDPOINT: s3Endpoint,
    OPTIMIZER_URL: optimizerUrl,
  };
  const component = (name: string, subcommand: string, extra: NodeJS.ProcessEnv) =>
    new SupervisedProcess({ name, command: process.execPath, args: serviceArgs(subcommand), env: { ...shared, ...extra } });

  const processes = new Map<string, SupervisedProcess>();
  if (embeddedS3) {
    processes.set('s3', component('s3', 's3', { S3_PORT: String(config.S3_PORT), S3_DATA_DIR: resolve(config.STACK_DATA_DIR, 's3') }));
  }
  processes.set('optimizer', component('optimizer', 'optimizer', { PORT: String(config.OPTIMIZER_PORT) }));
  processes.set('api', component('api', 'api', { PORT: String(config.API_PORT) }));
  // Read now so a bad file stops the stack with its message, not a crash-looping controller.
  const scalerFile = resolve(config.QUEUE_SCALER_FILE);
  const scaler = requireValid(scalerFile, readQueueScalerFile(scalerFile));
  const scalerSpec = scaler.spec;
  processes.set(
    'controller',
    component('controller', 'controller', {
      PORT: String(config.CONTROLLER_PORT),
      CONTROLLER_MODE: 'local',
      QUEUE_SCALER_FILE: scalerFile,
      WORKER_PORT: String(config.WORKER_PORT),
    }),
  );

  // The store first, so the api and workers find their bucket on their first call.
  const s3 = processes.get('s3');
  if (s3) {
    s3.start();
    await waitForPort('127.0.0.1', config.S3_PORT, 15_000);
  }
  for (const [name, child] of processes) if (name !== 's3') child.start();
  await waitForPort('127.0.0.1', config.API_PORT, 30_000);

  const pageUrl = `http://localhost:${config.API_PORT}`;
  const urls: Record<string, string> = {
    'web page + api': pageUrl,
    access: env.API_KEYS || env.API_KEYS_FILE ? 'an API key is required (Authorization: Bearer <key>)' : 'open: no API key asked (set API_KEYS to require one)',
    optimizer: optimizerUrl,
    'object store': `${s3Endpoint}${embeddedS3 ? ` (embedded s3rver, data in ${resolve(config.STACK_DATA_DIR, 's3')})` : ''}`,
    rabbitmq: `${redactUrl(config.RABBITMQ_URL)} (${rabbit})`,
    redis: `${config.REDIS_URL} (${redis})`,
    autoscaler: `${scalerSpec.minReplicas}..${scalerSpec.maxReplicas} workers from the depth of ${scalerSpec.queue} (${scalerSpec.messagesPerReplica} messages per worker; QueueScaler "${scaler.metadata.name}" in ${scalerFile})`,
    controller: `http://127.0.0.1:${config.CONTROLLER_PORT} (/metrics, /scalers)`,
    workers: `health and metrics on ports ${config.WORKER_PORT}..${config.WORKER_PORT + Math.max(scalerSpec.maxReplicas - 1, 0)}`,
  };

  return {
    url: pageUrl,
    port: config.API_PORT,
    registry: undefined,
    processes,
    urls,
    // The order is the stack's: the store last, so nothing still running loses it.
    async stop() {
      // A Ctrl-C reaches every child too: none may be restarted while the others stop.
      for (const child of processes.values()) child.holdRestarts();
      const order = [...processes.entries()].filter(([name]) => name !== 's3');
      await Promise.all(order.map(([, child]) => child.stop()));
      await s3?.stop();
    },
  };
}

function printSummary(stack: RunningStack): void {
  const width = Math.max(...Object.keys(stack.urls).map((k) => k.length));
  process.stdout.write(
    `\nNWS Watermark is running:\n${Object.entries(stack.urls)
      .map(([name, url]) => `  ${name.padEnd(width)}  ${url}`)
      .join('\n')}\n\nOpen ${stack.url} and drop an image. Ctrl-C stops everything.\n\n`,
  );
}

/** The stack talks to a terminal, in plain text; its components log their own stops as JSON. */
const terminalStopReport: StopReport = {
  stopping: () => process.stdout.write('\nstopping…\n'),
  stopped: () => undefined,
  graceOver: () => process.stderr.write('grace period over; exiting with components still running\n'),
  stopFailed: (err) => process.stderr.write(`stop failed: ${errorMessage(err)}\n`),
};

export function runStack(): Promise<void> {
  return runService({
    name: 'stack',
    schema: stackEnv,
    start: async (config) => {
      const stack = await startStack(config);
      printSummary(stack);
      return stack;
    },
    graceMs: () => STACK_GRACE_MS,
    exitCodeOf: (err) => (err instanceof MissingServiceError ? EXIT_CODES.unavailable : undefined),
    stopReport: () => terminalStopReport,
  });
}
