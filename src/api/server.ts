/**
 * The api service: wires configuration to adapters, routes and the web page, and owns their
 * lifecycle. It starts even while its dependencies are down (readiness says which), because the
 * nominal path only needs the optimizer and the object store, and the fallback only the broker.
 */
import express from 'express';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerConnection } from '../shared/broker/connection.js';
import { ConfirmPublisher } from '../shared/broker/publisher.js';
import { declareTopology } from '../shared/broker/topology.js';
import { apiEnv, type ApiConfig } from '../shared/config.js';
import { createServiceApp, listen } from '../shared/http/service-app.js';
import { runService } from '../shared/lifecycle.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { apiMetrics, createRegistry } from '../shared/metrics.js';
import { OptimizerClient } from '../shared/optimizer-client.js';
import { createStateAdapters } from '../shared/state.js';
import { EventsHub } from './events-hub.js';
import { FingerprintTracker } from './fingerprint.js';
import { mountRoutes } from './routes.js';
import { UploadService } from './upload-service.js';
import type { Registry } from 'prom-client';

export interface RunningApi {
  url: string;
  port: number;
  registry: Registry;
  stop(): Promise<void>;
}

/** The built web page: dist/web next to dist/api (or src/api when run from source). */
function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../dist/web', import.meta.url));
}

export async function startApi(config: ApiConfig, logger: Logger = createLogger('api', config.LOG_LEVEL)): Promise<RunningApi> {
  const registry = createRegistry('api');
  const metrics = apiMetrics(registry);
  const { redis, results, jobs, store } = createStateAdapters(config, logger);
  const optimizer = new OptimizerClient({
    baseUrl: config.OPTIMIZER_URL,
    timeoutMs: config.OPTIMIZER_TIMEOUT_MS,
    caller: 'api',
    metrics,
    circuit: { consecutiveFailures: config.CIRCUIT_FAILURE_THRESHOLD, halfOpenAfterMs: config.CIRCUIT_HALF_OPEN_AFTER_MS },
  });
  const broker = new BrokerConnection({ url: config.RABBITMQ_URL, name: 'nws-watermark api', logger });
  const publisher = new ConfirmPublisher(broker, logger, (channel) =>
    declareTopology(channel, { queueType: config.RABBITMQ_QUEUE_TYPE, deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT, retryDelaysMs: [] }),
  );
  const events = new EventsHub(broker, logger);
  const fingerprint = new FingerprintTracker(results, logger);
  const uploads = new UploadService({ config, store, results, jobs, optimizer, publisher, fingerprint, metrics, logger });

  await publisher.attach();
  await events.attach();
  void broker.start();
  await store.ensureBucket(config.S3_REGION).catch((err: Error) => logger.warn({ err: err.message }, 'bucket not ensured yet'));
  await fingerprint.load(() => optimizer.fetchFingerprint());

  const service = createServiceApp({
    service: 'api',
    registry,
    logger,
    readiness: async () => ({
      broker: publisher.ready,
      redis: await redis.ping().then(() => true, () => false),
      objectStore: await store.ping(),
    }),
  });
  mountRoutes(service.app, { config, uploads, jobs, results, store, events, fingerprint, logger });
  const webRoot = config.WEB_ROOT || defaultWebRoot();
  if (existsSync(webRoot)) {
    service.app.use(
      express.static(webRoot, {
        index: 'index.html',
        // Vite hashes asset names, so they never change; index.html must always be revalidated.
        setHeaders: (res, path) =>
          res.setHeader('Cache-Control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
      }),
    );
  } else {
    logger.warn({ webRoot }, 'web page not built (npm run build:web); serving the API only');
  }
  service.finish();
  const server = await listen(service.app, config.PORT, config.HOST);
  logger.info({ url: server.url }, 'api listening');

  return {
    url: server.url,
    port: server.port,
    registry,
    async stop() {
      service.markNotReady();
      await delay(config.SHUTDOWN_DELAY_MS);
      await server.close(config.SHUTDOWN_GRACE_MS);
      await broker.close();
      await optimizer.close();
      redis.disconnect();
    },
  };
}

export function runApi(): Promise<void> {
  return runService('api', apiEnv, startApi);
}
