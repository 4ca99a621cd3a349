/**
 * The retry worker service: the consumer plus a small HTTP server for health, readiness and
 * metrics. SIGTERM stops consumption first and lets the job in hand finish (graceful drain).
 */
import { createServiceBroker } from '../shared/broker/service-broker.js';
import { workerEnv, type WorkerConfig } from '../shared/config.js';
import { createServiceApp, type ServingService } from '../shared/http/service-app.js';
import { drainGraceMs, runService } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRegistry, workerMetrics } from '../shared/metrics.js';
import { createOptimizerClient } from '../shared/optimizer-client.js';
import { createStateAdapters } from '../shared/state.js';
import { RetryConsumer } from './consumer.js';
import { JobProcessor } from './job-processor.js';
import { jobDecoder } from '../shared/contracts/job-message.js';
import { defaultPreset } from '../shared/watermark/presets.js';
import { loadPresetCatalog } from '../shared/watermark/presets-file.js';

export interface RunningWorker extends ServingService {
  consumer: RetryConsumer;
}

export async function startWorker(config: WorkerConfig, logger: Logger = createLogger('worker', config.LOG_LEVEL)): Promise<RunningWorker> {
  const registry = createRegistry('worker');
  const metrics = workerMetrics(registry);
  const { redis, results, jobs, store } = createStateAdapters(config, logger);
  const optimizer = createOptimizerClient(config, 'worker', metrics);
  const { broker, publisher, declareTopology } = createServiceBroker(config, 'worker', config.RETRY_DELAYS_MS, logger);
  const processor = new JobProcessor({ store, results, jobs, optimizer, logger });
  // Only `default` is needed (for jobs that carry no settings); the logo files are the optimizer's to decode.
  const catalog = await loadPresetCatalog(config);
  const consumer = new RetryConsumer(
    {
      broker,
      declareTopology,
      decodeJob: jobDecoder(defaultPreset(catalog).settings),
      publisher,
      processor,
      jobs,
      store,
      probes: { optimizer: () => optimizer.isReady(), 'object store': () => store.ping() },
      metrics,
      logger,
    },
    {
      prefetch: config.WORKER_PREFETCH,
      policy: { maxAttempts: config.MAX_ATTEMPTS, delaysMs: config.RETRY_DELAYS_MS },
      probeIntervalMs: config.OPTIMIZER_PROBE_INTERVAL_MS,
      confirmTimeoutMs: config.PUBLISH_CONFIRM_TIMEOUT_MS,
      eventConfirmTimeoutMs: config.EVENT_CONFIRM_TIMEOUT_MS,
    },
  );
  // Both declare the topology on every (re)connection; the publisher first, so its channel is up before the first job.
  await publisher.attach();
  await consumer.attach();
  void broker.start();

  const service = createServiceApp({
    service: 'worker',
    registry,
    logger,
    readiness: async () => ({ broker: consumer.ready && publisher.ready }),
  });
  const running = await service.serve(config.PORT, config.HOST, async (server) => {
    await consumer.stop();
    await broker.close();
    await server.close(config.HTTP_CLOSE_GRACE_MS);
    await optimizer.close();
    redis.disconnect();
  });
  logger.info({ url: running.url }, 'worker listening for probes');
  return { ...running, consumer };
}

export function runWorker(): Promise<void> {
  return runService({ name: 'worker', schema: workerEnv, start: startWorker, graceMs: drainGraceMs });
}
