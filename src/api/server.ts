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
import { createServiceBroker } from '../shared/broker/service-broker.js';
import { apiEnv, type ApiConfig } from '../shared/config.js';
import { createServiceApp, type ServingService } from '../shared/http/service-app.js';
import { drainGraceMs, runService } from '../shared/lifecycle.js';
import { createLogger, warnAndContinue, type Logger } from '../shared/logger.js';
import { apiMetrics, createRegistry } from '../shared/metrics.js';
import { createOptimizerClient } from '../shared/optimizer-client.js';
import { createStateAdapters } from '../shared/state.js';
import { withRecentResults } from './recent-results.js';
import { loadApiKeys } from './access/load-keys.js';
import { acceptSignedUrl, requireKey } from './access/require-key.js';
import { UploadRateLimit } from './access/upload-rate-limit.js';
import { EventsHub } from './events-hub.js';
import { corsFor, securityHeaders } from './http-headers.js';
import { loadPresetCatalog } from '../shared/watermark/presets-file.js';
import { UploadsInFlight } from './access/uploads-in-flight.js';
import { mountRoutes } from './routes.js';
import { UploadService } from './upload-service.js';

export type RunningApi = ServingService;

/** What a key guards when keys are configured; the page, probes, /metrics and /presets stay open. */
const PROTECTED_ROUTES = ['/upload', '/status', '/events', '/image'];

/** The built web page: dist/web next to dist/api (or src/api when run from source). */
function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../dist/web', import.meta.url));
}

export async function startApi(config: ApiConfig, logger: Logger = createLogger('api', config.LOG_LEVEL)): Promise<RunningApi> {
  // Read first: a bad key file stops the api before it connects to anything.
  const keys = loadApiKeys(config);
  const catalog = await loadPresetCatalog(config);
  const registry = createRegistry('api');
  const metrics = apiMetrics(registry);
  const { redis, results: sharedResults, jobs, store } = createStateAdapters(config, logger);
  const results = withRecentResults(sharedResults, config.RECENT_RESULTS_BYTES);
  const optimizer = createOptimizerClient(config, 'api', metrics, {
    circuit: { consecutiveFailures: config.CIRCUIT_FAILURE_THRESHOLD, halfOpenAfterMs: config.CIRCUIT_HALF_OPEN_AFTER_MS },
    // A hung optimizer: an upload falls back to the queue after about OPTIMIZER_STALL_MS, not the whole timeout.
    health: { intervalMs: config.OPTIMIZER_HEALTH_INTERVAL_MS, stallMs: config.OPTIMIZER_STALL_MS },
  });
  const { broker, publisher } = createServiceBroker(config, 'api', [], logger);
  const events = new EventsHub(broker, logger);
  const uploads = new UploadService({ config, store, results, jobs, optimizer, publisher, metrics, logger });

  await publisher.attach();
  await events.attach();
  void broker.start();
  await store.ensureBucket().catch(warnAndContinue(logger, 'bucket not ensured yet'));

  const service = createServiceApp({
    service: 'api',
    registry,
    logger,
    // A refused upload's body is read on for twice the upload limit, or 5 s: long enough for any
    // client to read the answer (a client that sends first and reads after), then cut.
    linger: { maxBytes: 2 * config.MAX_UPLOAD_BYTES, maxMs: 5_000 },
    readiness: async () => ({
      broker: publisher.ready,
      redis: await redis.ping().then(
        () => true,
        () => false,
      ),
      objectStore: await store.ping(),
    }),
  });
  // Who the client is (req.ip) when a proxy or an ingress forwards for it.
  service.app.set('trust proxy', config.TRUST_PROXY);
  service.app.use(securityHeaders());
  // Before the key check: a browser's preflight carries no credentials and must be answered.
  const allowCors = corsFor(config.CORS_ORIGINS);
  if (allowCors) service.app.use(allowCors);
  if (config.URL_SIGNING_KEYS.length > 0) service.app.get('/image/:id', acceptSignedUrl(config.URL_SIGNING_KEYS));
  if (keys.length > 0) service.app.use(PROTECTED_ROUTES, requireKey(keys, metrics, logger));
  const uploadLimit =
    config.RATE_LIMIT_UPLOADS_PER_MINUTE > 0
      ? new UploadRateLimit(
          redis,
          config.REDIS_KEY_PREFIX,
          { perMinute: config.RATE_LIMIT_UPLOADS_PER_MINUTE, burst: config.RATE_LIMIT_BURST },
          metrics,
          logger,
        )
      : undefined;
  const inFlight =
    config.UPLOADS_IN_FLIGHT_PER_CLIENT > 0
      ? new UploadsInFlight(config.UPLOADS_IN_FLIGHT_PER_CLIENT, (total) => metrics.uploadsInFlight.set(total))
      : undefined;
  mountRoutes(service.app, {
    config,
    uploads,
    jobs,
    results,
    store,
    events,
    catalog,
    metrics,
    logger,
    ...(uploadLimit ? { uploadLimit } : {}),
    ...(inFlight ? { inFlight } : {}),
  });
  const webRoot = config.WEB_ROOT || defaultWebRoot();
  if (existsSync(webRoot)) {
    service.app.use(
      express.static(webRoot, {
        index: 'index.html',
        // Vite hashes asset names, so they never change; index.html must always be revalidated.
        setHeaders: (res, path) => res.setHeader('Cache-Control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
      }),
    );
  } else {
    logger.warn({ webRoot }, 'web page not built (npm run build:web); serving the API only');
  }
  const running = await service.serve(config.PORT, config.HOST, async (server) => {
    await delay(config.SHUTDOWN_DELAY_MS);
    await server.close(config.SHUTDOWN_GRACE_MS);
    await broker.close();
    await optimizer.close();
    redis.disconnect();
  });
  logger.info(
    {
      url: running.url,
      access: keys.length > 0 ? `API key required (${keys.length} keys)` : 'open: no API key configured',
      presets: [...catalog.presets.keys()],
    },
    'api listening',
  );
  return running;
}

export function runApi(): Promise<void> {
  return runService({ name: 'api', schema: apiEnv, start: startApi, graceMs: drainGraceMs });
}
