/**
 * The controller on one machine (`npm start`): the same ScalerLoop, configured by a QueueScaler
 * document from a file (YAML or JSON, the same shape as in Kubernetes), driving local worker
 * processes. Editing the file applies the new spec, as `kubectl apply` would.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../shared/config.js';
import type { ControllerConfig } from '../../shared/config.js';
import { InvalidSpecError, parseSpec } from '../queue-scaler.js';
import type { Logger } from '../../shared/logger.js';
import type { ScalerMetrics } from '../../shared/metrics.js';
import type { DepthSource } from '../depth/depth-source.js';
import type { QueueScalerObject, QueueScalerStatus } from '../queue-scaler.js';
import { ScalerLoop, type ScalerEvent, type StatusSink } from '../scaler-loop.js';
import { LocalWorkers } from '../targets/local-workers.js';

export interface RunningLocalController {
  name: string;
  workers: LocalWorkers;
  loop: ScalerLoop;
  scalers(): Record<string, { spec: unknown; status: QueueScalerStatus }>;
  stop(): Promise<void>;
}

/** Reads a QueueScaler document; errors name the file. */
export function readQueueScalerFile(path: string): QueueScalerObject & { metadata: { name: string } } {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`QUEUE_SCALER_FILE: ${path}: ${(err as Error).message}`]);
  }
  const object = doc as QueueScalerObject | null;
  if (!object || typeof object !== 'object' || object.kind !== 'QueueScaler' || typeof object.metadata?.name !== 'string') {
    throw new ConfigError([`QUEUE_SCALER_FILE: ${path}: expected a QueueScaler document with kind: QueueScaler and metadata.name`]);
  }
  try {
    parseSpec(object.spec);
  } catch (err) {
    if (err instanceof InvalidSpecError) throw new ConfigError(err.problems.map((p) => `QUEUE_SCALER_FILE: ${path}: ${p}`));
    throw err;
  }
  return object as QueueScalerObject & { metadata: { name: string } };
}

/** Locally a spec without vhost means the broker's own: the vhost of RABBITMQ_URL, as the workers use. */
function withDefaultVhost<T extends QueueScalerObject>(object: T, rabbitUrl: string): T {
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  if (spec.vhost !== undefined) return object;
  const path = new URL(rabbitUrl).pathname.slice(1);
  return { ...object, spec: { ...spec, vhost: path ? decodeURIComponent(path) : '/' } };
}

class LogSink implements StatusSink {
  constructor(private readonly logger: Logger) {}
  async write(): Promise<void> {}
  async event(event: ScalerEvent): Promise<void> {
    this.logger[event.type === 'Normal' ? 'info' : 'warn']({ reason: event.reason }, event.message);
  }
}

export function startLocalController(
  config: ControllerConfig,
  deps: { logger: Logger; metrics: ScalerMetrics; depth: DepthSource; workerEnv: NodeJS.ProcessEnv },
): RunningLocalController {
  const object = withDefaultVhost(readQueueScalerFile(config.QUEUE_SCALER_FILE), config.RABBITMQ_URL);
  const name = object.metadata.name;
  const logger = deps.logger.child({ scaler: name });
  const workers = new LocalWorkers({
    env: deps.workerEnv,
    basePort: config.WORKER_PORT,
    // Each worker drains within its own SHUTDOWN_GRACE_MS; past that (plus a margin) it is killed.
    stopGraceMs: config.SHUTDOWN_GRACE_MS + 1_000,
  });
  const loop = new ScalerLoop({
    name,
    depth: deps.depth,
    makeTarget: () => workers,
    sink: new LogSink(logger),
    metrics: deps.metrics,
    logger,
    tolerance: config.SCALER_TOLERANCE,
  });
  let generation = 1;
  loop.update(object.spec, generation);
  loop.start();

  const reload = () => {
    try {
      const next = withDefaultVhost(readQueueScalerFile(config.QUEUE_SCALER_FILE), config.RABBITMQ_URL);
      generation += 1;
      logger.info({ file: config.QUEUE_SCALER_FILE, generation }, 'spec file changed; applying it');
      loop.update(next.spec, generation);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'spec file unreadable; keeping the previous spec');
    }
  };
  watchFile(config.QUEUE_SCALER_FILE, { interval: 500 }, reload);

  return {
    name,
    workers,
    loop,
    scalers: () => ({ [name]: { spec: loop.currentSpec, status: loop.currentStatus } }),
    async stop() {
      unwatchFile(config.QUEUE_SCALER_FILE, reload);
      await loop.stop();
      await workers.stopAll();
    },
  };
}
