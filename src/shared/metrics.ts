/**
 * The metrics contract (docs/architecture.md, "Metrics contract") in one place: every name, type
 * and label that dashboards, alerts and tests rely on is declared here and nowhere else.
 * Each service builds its own registry so several services can share one process in tests.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type HttpMetrics = ReturnType<typeof httpMetrics>;
export function httpMetrics(registry: Registry) {
  return {
    requestDuration: new Histogram({
      name: 'watermark_http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['service', 'method', 'route', 'status_code'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}

export type UploadResult = 'optimized' | 'cache_hit' | 'queued' | 'rejected' | 'failed';
export type OptimizerCaller = 'api' | 'worker';
export type OptimizerOutcome = 'ok' | 'unavailable' | 'rejected' | 'timeout';

export type OptimizerCallMetrics = ReturnType<typeof optimizerCallMetrics>;
export function optimizerCallMetrics(registry: Registry) {
  return {
    calls: new Counter({
      name: 'watermark_optimizer_calls_total',
      help: 'Calls to the optimizer by caller and outcome',
      labelNames: ['caller', 'outcome'] as const,
      registers: [registry],
    }),
    circuitOpen: new Gauge({
      name: 'watermark_optimizer_circuit_open',
      help: '1 while the circuit breaker in front of the optimizer is open (calls fail fast), else 0',
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof apiMetrics>;
export function apiMetrics(registry: Registry) {
  return {
    uploads: new Counter({
      name: 'watermark_uploads_total',
      help: 'Uploads by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    /** By key id (the operator's list bounds it), never by secret. */
    authenticated: new Counter({
      name: 'watermark_api_key_requests_total',
      help: 'Requests to protected routes that presented a known API key, by key id',
      labelNames: ['key'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: 'watermark_api_key_refusals_total',
      help: 'Requests to protected routes refused with 401: key missing, malformed or unknown',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'watermark_uploads_rate_limited_total',
      help: 'Uploads refused with 429, by limit: rate (RATE_LIMIT_UPLOADS_PER_MINUTE and its burst) or concurrency (UPLOADS_IN_FLIGHT_PER_CLIENT)',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    uploadsInFlight: new Gauge({
      name: 'watermark_uploads_in_flight',
      help: 'Uploads this api process is receiving or answering now, across clients (bounded per client by UPLOADS_IN_FLIGHT_PER_CLIENT)',
      registers: [registry],
    }),
    limiterFailOpen: new Gauge({
      name: 'watermark_rate_limiter_fail_open',
      help: '1 while the upload rate limiter cannot reach Redis and lets every upload through',
      registers: [registry],
    }),
    jobsPublished: new Counter({
      name: 'watermark_jobs_published_total',
      help: 'Jobs published to the retry queue and confirmed by the broker',
      registers: [registry],
    }),
    ...optimizerCallMetrics(registry),
  };
}

export type OptimizeMetrics = ReturnType<typeof optimizeMetrics>;
export function optimizeMetrics(registry: Registry) {
  return {
    optimizeDuration: new Histogram({
      name: 'watermark_optimize_duration_seconds',
      help: 'Time spent decoding, resizing, watermarking and encoding one image',
      labelNames: ['format'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}

export const DEAD_LETTER_REASONS = ['invalid_message', 'permanent_error', 'max_attempts'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export type WorkerMetrics = ReturnType<typeof workerMetrics>;
export function workerMetrics(registry: Registry) {
  return {
    acked: new Counter({ name: 'watermark_jobs_acked_total', help: 'Jobs acknowledged', registers: [registry] }),
    nacked: new Counter({
      name: 'watermark_jobs_nacked_total',
      help: 'Deliveries negatively acknowledged',
      labelNames: ['requeue'] as const,
      registers: [registry],
    }),
    retried: new Counter({
      name: 'watermark_jobs_retried_total',
      help: 'Jobs sent to a delay queue for a later attempt',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'watermark_jobs_dead_lettered_total',
      help: 'Jobs moved to the dead-letter queue, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'watermark_job_duration_seconds',
      help: 'Time from delivery to ack',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    ...optimizerCallMetrics(registry),
  };
}

export type ScaleDirection = 'up' | 'down';

export type ScalerMetrics = ReturnType<typeof scalerMetrics>;
/** The controller's metrics: what each QueueScaler decided, what its target runs, what the queue holds. */
export function scalerMetrics(registry: Registry) {
  return {
    desiredReplicas: new Gauge({
      name: 'watermark_scaler_desired_replicas',
      help: 'Replicas the scaler last decided for its target',
      labelNames: ['scaler'] as const,
      registers: [registry],
    }),
    currentReplicas: new Gauge({
      name: 'watermark_scaler_current_replicas',
      help: 'Replicas of the target as last read (pods or local worker processes that exist)',
      labelNames: ['scaler'] as const,
      registers: [registry],
    }),
    scalingEvents: new Counter({
      name: 'watermark_scaler_scaling_events_total',
      help: 'Changes of the target replicas made by the scaler, by direction',
      labelNames: ['scaler', 'direction'] as const,
      registers: [registry],
    }),
    queueMessages: new Gauge({
      name: 'watermark_queue_messages',
      help: 'Messages in a queue by state',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    // The bounds of each scaler's spec: "pinned at max" (desired == max while the queue grows) needs them.
    minReplicas: new Gauge({
      name: 'watermark_scaler_min_replicas',
      help: 'minReplicas of the scaler spec',
      labelNames: ['scaler'] as const,
      registers: [registry],
    }),
    maxReplicas: new Gauge({
      name: 'watermark_scaler_max_replicas',
      help: 'maxReplicas of the scaler spec',
      labelNames: ['scaler'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'watermark_scaler_errors_total',
      help: 'Reconcile passes that could not scale, by reason',
      labelNames: ['scaler', 'reason'] as const,
      registers: [registry],
    }),
  };
}

/** Why a reconcile pass could not scale: the `reason` label of watermark_scaler_errors_total. */
export const SCALER_ERROR_REASONS = ['invalid_spec', 'depth_unavailable', 'target_not_found', 'target_forbidden', 'target_unavailable'] as const;
export type ScalerErrorReason = (typeof SCALER_ERROR_REASONS)[number];
