/**
 * The controller on one machine (`npm start`): the same ScalerLoop, configured by a QueueScaler
 * document from a file (YAML or JSON, the same shape as in Kubernetes), driving local worker
 * processes. Editing the file applies the new spec, as `kubectl apply` would.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { ControllerConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { ScalerMetrics } from '../../shared/metrics.js';
import type { DepthSource } from '../depth/depth-source.js';
import type { ControllerMode } from '../controller-mode.js';
import type { BacklogSignals } from '../events/backlog-signals.js';
import type { Scaler } from '../queue-scaler.js';
import { ScalerLoop, type ScalerEvent, type StatusSink } from '../scaler-loop.js';
import { LocalWorkers } from '../targets/local-workers.js';
import { readQueueScalerFile, requireValid } from './queue-scaler-file.js';
import { errorMessage } from '../../shared/errors.js';

/** What a local worker gets past its own SHUTDOWN_GRACE_MS (its force exit is 1 s later) before it is killed. */
export const WORKER_KILL_MARGIN_MS = 1_000;

/** Locally a spec without vhost means the broker's own: the vhost of RABBITMQ_URL, as the workers use. */
function brokerVhost(rabbitUrl: string): string {
  const path = new URL(rabbitUrl).pathname.slice(1);
  return path ? decodeURIComponent(path) : '/';
}

/** A file has no generation: each applied version of it counts as one, as `kubectl apply` would. */
function withGeneration(scaler: Scaler, generation: number): Scaler {
  return { ...scaler, metadata: { ...scaler.metadata, generation } };
}

class LogSink implements StatusSink {
  constructor(private readonly logger: Logger) {}
  async write(): Promise<void> {
    // locally the status is served at /scalers, not written anywhere
  }
  async event(event: ScalerEvent): Promise<void> {
    this.logger[event.type === 'Normal' ? 'info' : 'warn']({ reason: event.reason }, event.message);
  }
}

/** Starts the loop of the file's QueueScaler over local worker processes, and watches the file. */
export function localMode(
  config: ControllerConfig,
  deps: { logger: Logger; metrics: ScalerMetrics; depth: DepthSource; backlog?: BacklogSignals; workerEnv: NodeJS.ProcessEnv },
): ControllerMode {
  const file = config.QUEUE_SCALER_FILE;
  const defaults = { vhost: brokerVhost(config.RABBITMQ_URL) };
  let generation = 1;
  const first = requireValid(file, readQueueScalerFile(file, defaults));
  const name = first.metadata.name;
  const logger = deps.logger.child({ scaler: name });
  const workers = new LocalWorkers({
    env: deps.workerEnv,
    basePort: config.WORKER_PORT,
    // Each worker drains within its own SHUTDOWN_GRACE_MS; past that (plus a margin) it is killed.
    stopGraceMs: config.SHUTDOWN_GRACE_MS + WORKER_KILL_MARGIN_MS,
  });
  const loop = new ScalerLoop(
    {
      name,
      depth: deps.depth,
      makeTarget: () => workers,
      sink: new LogSink(logger),
      metrics: deps.metrics,
      logger,
      tolerance: config.SCALER_TOLERANCE,
      ...(deps.backlog ? { backlog: deps.backlog } : {}),
    },
    withGeneration(first, generation),
  );
  loop.start();

  const reload = () => {
    try {
      // Unlike a QueueScaler in the cluster, a bad edit of the file keeps the previous spec running.
      const next = requireValid(file, readQueueScalerFile(file, defaults));
      generation += 1;
      logger.info({ file, generation }, 'spec file changed; applying it');
      loop.update(withGeneration(next, generation));
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'spec file unreadable; keeping the previous spec');
    }
  };
  watchFile(file, { interval: 500 }, reload);

  return {
    scalers: () => ({ [name]: { spec: loop.currentSpec, status: loop.currentStatus } }),
    // The loop is there from the start: a bad file stopped the start instead (exit 78).
    readiness: () => ({ scaler: true }),
    async stop() {
      unwatchFile(file, reload);
      await loop.stop();
      await workers.stopAll();
    },
  };
}
