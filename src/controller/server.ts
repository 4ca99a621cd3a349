/**
 * `nws-watermark controller`: the queue-depth autoscaler as a service, with /healthz, /readyz,
 * /metrics and /scalers (each scaler's spec and status, the same status the CRD shows).
 * CONTROLLER_MODE=kubernetes watches QueueScalers in the cluster; local drives worker processes.
 */
import type { ControllerConfig } from '../shared/config.js';
import { controllerEnv } from '../shared/config.js';
import { createServiceApp, listen } from '../shared/http/service-app.js';
import { runService } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRegistry, scalerMetrics } from '../shared/metrics.js';
import { AmqpPassiveDepth } from './depth/amqp-passive.js';
import { CombinedDepth } from './depth/combined.js';
import { ManagementApiDepth } from './depth/management-api.js';
import { startKubernetesController } from './kubernetes/controller.js';
import { startLocalController } from './local/local-controller.js';

/** Variables that are the controller's own and must not leak into the workers it spawns. */
const CONTROLLER_ONLY = ['PORT', 'CONTROLLER_MODE', 'QUEUE_SCALER_FILE', 'WORKER_PORT', 'RABBITMQ_MANAGEMENT_URL', 'SCALER_TOLERANCE'];

export interface RunningController {
  url: string;
  stop(): Promise<void>;
}

export async function startController(
  config: ControllerConfig,
  logger: Logger = createLogger('controller', config.LOG_LEVEL),
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningController> {
  const registry = createRegistry('controller');
  const metrics = scalerMetrics(registry);
  const depth = new CombinedDepth(new ManagementApiDepth({ url: config.RABBITMQ_MANAGEMENT_URL }), new AmqpPassiveDepth(config.RABBITMQ_URL));

  let scalers: () => Record<string, unknown>;
  let ready: () => Record<string, boolean>;
  let stopMode: () => Promise<void>;
  if (config.CONTROLLER_MODE === 'local') {
    const workerEnv = Object.fromEntries(Object.entries(env).filter(([key]) => !CONTROLLER_ONLY.includes(key)));
    const local = startLocalController(config, { logger, metrics, depth, workerEnv });
    scalers = local.scalers;
    ready = () => ({ scaler: true });
    stopMode = () => local.stop();
  } else {
    const cluster = await startKubernetesController(config, { logger, metrics, depth });
    scalers = () => ({ leader: cluster.leader, scalers: cluster.scalers() });
    ready = () => ({ 'QueueScaler cache': cluster.synced });
    stopMode = () => cluster.stop();
  }

  const service = createServiceApp({ service: 'controller', registry, logger, readiness: async () => ready() });
  service.app.get('/scalers', (_req, res) => {
    res.json(scalers());
  });
  service.finish();
  const server = await listen(service.app, config.PORT, config.HOST);
  logger.info({ url: server.url, mode: config.CONTROLLER_MODE }, 'controller listening');

  return {
    url: server.url,
    async stop() {
      service.markNotReady();
      await stopMode();
      await depth.close();
      await server.close(1_000);
    },
  };
}

export function runController(): Promise<void> {
  // Locally the controller waits for its workers to drain, each within SHUTDOWN_GRACE_MS.
  return runService('controller', controllerEnv, startController, (config) =>
    config.SHUTDOWN_GRACE_MS + (config.CONTROLLER_MODE === 'local' ? 3_000 : 0),
  );
}
