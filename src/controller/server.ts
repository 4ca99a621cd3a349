/**
 * `nws-watermark controller`: the queue-depth autoscaler as a service, with /healthz, /readyz,
 * /metrics and /scalers (each scaler's spec and status, the same status the CRD shows).
 * CONTROLLER_MODE=kubernetes watches QueueScalers in the cluster; local drives worker processes.
 */
import type { ControllerConfig } from '../shared/config.js';
import { controllerEnv } from '../shared/config.js';
import { createServiceApp, type ServingService } from '../shared/http/service-app.js';
import { runService } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRegistry, scalerMetrics } from '../shared/metrics.js';
import { AmqpPassiveDepth } from './depth/amqp-passive.js';
import { CombinedDepth } from './depth/combined.js';
import { ManagementApiDepth } from './depth/management-api.js';
import type { ControllerMode } from './controller-mode.js';
import { QueuedJobEvents } from './events/backlog-signals.js';
import { kubernetesMode } from './kubernetes/controller.js';
import { localMode, WORKER_KILL_MARGIN_MS } from './local/local-controller.js';

/** Variables that are the controller's own and must not leak into the workers it spawns. */
const CONTROLLER_ONLY = ['PORT', 'CONTROLLER_MODE', 'QUEUE_SCALER_FILE', 'WORKER_PORT', 'RABBITMQ_MANAGEMENT_URL', 'SCALER_TOLERANCE'];

/** The environment the local workers get: the controller's own, minus what is only the controller's. */
function workerEnvFrom(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !CONTROLLER_ONLY.includes(key)));
}

export type RunningController = ServingService;

export async function startController(
  config: ControllerConfig,
  logger: Logger = createLogger('controller', config.LOG_LEVEL),
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningController> {
  const registry = createRegistry('controller');
  const metrics = scalerMetrics(registry);
  const depth = new CombinedDepth(
    new ManagementApiDepth({ url: config.RABBITMQ_MANAGEMENT_URL, timeoutMs: config.RABBITMQ_MANAGEMENT_TIMEOUT_MS }),
    new AmqpPassiveDepth(config.RABBITMQ_URL),
  );

  // job.queued events: a backlog is reconciled when it forms, the poll stays the safety net.
  const backlog = new QueuedJobEvents(config.RABBITMQ_URL, logger);

  const mode: ControllerMode =
    config.CONTROLLER_MODE === 'local'
      ? localMode(config, { logger, metrics, depth, backlog, workerEnv: workerEnvFrom(env) })
      : await kubernetesMode(config, { logger, metrics, depth, backlog });

  const service = createServiceApp({ service: 'controller', registry, logger, readiness: async () => mode.readiness() });
  service.app.get('/scalers', (_req, res) => {
    res.json(mode.scalers());
  });
  const running = await service.serve(config.PORT, config.HOST, async (server) => {
    await mode.stop();
    await backlog.close();
    await depth.close();
    await server.close(config.HTTP_CLOSE_GRACE_MS);
  });
  logger.info({ url: running.url, mode: config.CONTROLLER_MODE }, 'controller listening');
  return running;
}

/** Locally, beyond the workers' drain and the HTTP close: the loop's last pass and the depth sources' close. */
const LOCAL_STOP_SLACK_MS = 1_000;

/**
 * How long the controller's stop may take. Locally it waits for its workers to drain (each within
 * SHUTDOWN_GRACE_MS, killed after the margin), then closes its HTTP server: 3 s over the grace by default.
 */
function controllerGraceMs(config: ControllerConfig): number {
  if (config.CONTROLLER_MODE !== 'local') return config.SHUTDOWN_GRACE_MS;
  return config.SHUTDOWN_GRACE_MS + WORKER_KILL_MARGIN_MS + config.HTTP_CLOSE_GRACE_MS + LOCAL_STOP_SLACK_MS;
}

export function runController(): Promise<void> {
  return runService({ name: 'controller', schema: controllerEnv, start: startController, graceMs: controllerGraceMs });
}
