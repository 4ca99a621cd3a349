/**
 * The retry worker service: the consumer plus a small HTTP server for health, readiness and
 * metrics. SIGTERM stops consumption first and lets the job in hand finish (graceful drain).
 */
import type { Registry } from 'prom-client';
import { BrokerConnection } from '../shared/broker/connection.js';
import { ConfirmPublisher } from '../shared/broker/publisher.js';
import { declareTopology } from '../shared/broker/topology.js';
import { workerEnv, type WorkerConfig } from '../shared/config.js';
import { createServiceApp, listen } from '../shared/http/service-app.js';
import { runService } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRegistry, workerMetrics } from '../shared/metrics.js';
import { OptimizerClient } from '../shared/optimizer-client.js';
import { createStateAdapters } from '../shared/state.js';
import { RetryConsumer } from './consumer.js';
import { JobProcessor } from './job-processor.js';

export interface RunningWorker {
  url: string;
  port: number;
  registry: Registry;
  consumer: RetryConsumer;
  stop(): Promise<void>;
}

export async function startWorker(config: WorkerConfig, logger: Logger = createLogger('worker', config.LOG_LEVEL)): Promise<RunningWorker> {
  const registry = createRegistry('worker');
  const metrics = workerMetrics(registry);
  const { redis, results, jobs, store } = createStateAdapters(config, logger);
  const optimizer = new OptimizerClient({ baseUrl: config.OPTIMIZER_URL, timeoutMs: config.OPTIMIZER_TIMEOUT_MS, caller: 'worker', metrics });
  const broker = new BrokerConnection({ url: config.RABBITMQ_URL, name: 'nws-watermark worker', logger });
  const publisher = new ConfirmPublisher(broker, logger, (channel) =>
    declareTopology(channel, { queueType: config.RABBITMQ_QUEUE_TYPE, deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT, retryDelaysMs: config.RETRY_DELAYS_MS }),
  );
  const processor = new JobProcessor({ store, results, jobs, optimizer, logger });
  const consumer = new RetryConsumer(
    {
      broker,
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
      confirmTimeoutMs: 5_000,
    },
  );
  // The publisher declares the topology, so it attaches before the consumer uses the queues.
  await publisher.attach();
  await consumer.attach();
  void broker.start();

  const service = createServiceApp({
    service: 'worker',
    registry,
    logger,
    readiness: async () => ({ broker: consumer.ready && publisher.ready }),
  });
  service.finish();
  const server = await listen(service.app, config.PORT, config.HOST);
  logger.info({ url: server.url }, 'worker listening for probes');

  return {
    url: server.url,
    port: server.port,
    registry,
    consumer,
    async stop() {
      service.markNotReady();
      await consumer.stop();
      await broker.close();
      await server.close(1_000);
      await optimizer.close();
      redis.disconnect();
    },
  };
}

export function runWorker(): Promise<void> {
  return runService('worker', workerEnv, startWorker);
}
