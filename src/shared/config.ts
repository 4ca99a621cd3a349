/**
 * Configuration from environment variables, validated once at start.
 * Each component declares the variables it reads; a bad value stops the process with a
 * message naming the variable, what was expected and what was received.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { GRAVITIES, OUTPUT_EFFORTS, OUTPUT_FORMATS, OVERRIDABLE_OPTIONS } from './contracts/watermark-settings.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A whole number ≥ 0 (0 often means "off"), at most `max` when given. */
const nonNegativeInt = (fallback: number, max?: number) => {
  const whole = z.coerce.number().int().min(0);
  return (max === undefined ? whole : whole.max(max)).default(fallback);
};
const port = (fallback: number) => nonNegativeInt(fallback, 65535);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const url = (fallback: string) => z.url().default(fallback);
/**
 * The worker's and the controller's HTTP servers answer probes, metrics and /scalers only: on
 * close, the requests in flight get this long (the api and the optimizer drain within SHUTDOWN_GRACE_MS).
 */
const httpCloseGraceMs = positiveInt(1_000);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list, each item trimmed and checked by `item`; empty (the default) is no item. */
const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(item));

/** An address (`10.0.0.1`), a subnet (`10.0.0.0/8`) or one of express's names for a range. */
const trustedProxy = z.union([
  z.enum(['loopback', 'linklocal', 'uniquelocal']),
  z.string().refine((value) => {
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    return family !== 0 && rest.length === 0 && (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits));
  }, 'an IP address, a subnet (10.0.0.0/8), loopback, linklocal or uniquelocal'),
]);

/**
 * express's `trust proxy`: whose X-Forwarded-For names the client (`req.ip`, the rate limits' client
 * without keys). Empty or `false`: nobody's; `true`: anybody's; a number: that many hops; else the
 * proxies' addresses, subnets or range names.
 */
const trustProxy = z
  .string()
  .default('')
  .transform((value): boolean | number | string[] | string => {
    const v = value.trim();
    if (v === '' || v === 'false') return false;
    if (v === 'true') return true;
    if (/^\d+$/.test(v)) return Number(v);
    return v.split(',').map((part) => part.trim());
  })
  .pipe(z.union([z.boolean(), z.number().int().min(0), z.array(trustedProxy)]));

/**
 * The watermark every service agrees on: the `default` preset (shared/watermark/presets.ts) and the
 * operator's presets file. The api resolves an upload's settings from them, the optimizer draws a
 * request that names none with `default`, the worker decodes old jobs that carry none.
 */
export const watermarkEnv = {
  /** A YAML file of named presets and registered logos; empty: only `default`, from the variables below. */
  PRESETS_FILE: z.string().default(''),
  RESIZE_MAX_EDGE: z.coerce.number().int().min(16).max(16_384).default(2048),
  OUTPUT_FORMAT: z.enum(OUTPUT_FORMATS).default('auto'),
  OUTPUT_QUALITY: z.coerce.number().int().min(1).max(100).default(80),
  /** CPU the encoder may spend for smaller bytes at the same quality (optimizer/encode.ts; README, Performance). */
  OUTPUT_EFFORT: z.enum(OUTPUT_EFFORTS).default('fast'),
  WATERMARK_TEXT: z.string().max(200).default('NWS'),
  WATERMARK_LOGO_PATH: z.string().default(''),
  WATERMARK_POSITION: z.enum(GRAVITIES).default('southeast'),
  WATERMARK_OPACITY: z.coerce.number().min(0).max(1).default(0.5),
  /** Pixels between the mark and the image edges (both offsets of `default`). */
  WATERMARK_MARGIN: nonNegativeInt(24, 1000),
  WATERMARK_TILED: bool(false),
  /**
   * What an upload may override in `default` (each within its full range, maxEdge up to
   * RESIZE_MAX_EDGE): comma-separated option names, `all`, or `none` for a fixed mark.
   */
  DEFAULT_PRESET_ALLOWS: z
    .string()
    .default('all')
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(
      z.union([
        z.tuple([z.literal('all')]).transform(() => [...OVERRIDABLE_OPTIONS]),
        z.tuple([z.literal('none')]).transform(() => []),
        z.array(z.enum(OVERRIDABLE_OPTIONS)),
      ]),
    ),
};
export type WatermarkConfig = { [K in keyof typeof watermarkEnv]: z.infer<(typeof watermarkEnv)[K]> };

/** Variables every service reads. */
export const commonEnv = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RABBITMQ_URL: url('amqp://guest:guest@127.0.0.1:5672/'),
  RABBITMQ_QUEUE_TYPE: z.enum(['classic', 'quorum']).default('classic'),
  /** Quorum queues: deliveries of one job before the broker dead-letters it (RabbitMQ 4's default). */
  RABBITMQ_DELIVERY_LIMIT: positiveInt(20),
  REDIS_URL: url('redis://127.0.0.1:6379/0'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/)
    .default('wm:'),
  RESULT_TTL_SECONDS: positiveInt(24 * 3600),
  JOB_STATE_TTL_SECONDS: positiveInt(7 * 24 * 3600),
  S3_ENDPOINT: url('http://127.0.0.1:9000'),
  S3_ACCESS_KEY: z.string().min(1).default('S3RVER'),
  S3_SECRET_KEY: z.string().min(1).default('S3RVER'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .default('watermark'),
  OPTIMIZER_URL: url('http://127.0.0.1:3001'),
  OPTIMIZER_TIMEOUT_MS: positiveInt(15_000),
  /** The optimizer's /readyz and /settings: quick questions, so a short deadline. */
  OPTIMIZER_PROBE_TIMEOUT_MS: positiveInt(1_000),
  /** Redis connect and command deadline: short, because callers degrade rather than wait. */
  REDIS_TIMEOUT_MS: positiveInt(2_000),
  /** Deadline of each object store call. */
  S3_TIMEOUT_MS: positiveInt(10_000),
  /** How long a job publish (the api's job, the worker's move to a delay queue or the DLQ) waits for the broker's confirm. */
  PUBLISH_CONFIRM_TIMEOUT_MS: positiveInt(5_000),
  /** The same for a job event: a notification, so it gives up sooner. */
  EVENT_CONFIRM_TIMEOUT_MS: positiveInt(2_000),
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
  /** How long a stopping server keeps serving with /readyz false, so load balancers stop sending first. */
  SHUTDOWN_DELAY_MS: nonNegativeInt(0, 60_000),
};

export const apiEnv = z.object({
  ...commonEnv,
  ...watermarkEnv,
  PORT: port(3000),
  HOST: z.string().default('0.0.0.0'),
  MAX_UPLOAD_BYTES: positiveInt(25 * 1024 * 1024),
  MAX_INPUT_PIXELS: positiveInt(100_000_000),
  UPLOAD_IDLE_TIMEOUT_MS: positiveInt(15_000),
  /** Bytes of recent results the api keeps in its own memory in front of Redis (api/recent-results.ts); 0: none. */
  RECENT_RESULTS_BYTES: nonNegativeInt(32 * 1024 * 1024),
  CIRCUIT_FAILURE_THRESHOLD: positiveInt(3),
  CIRCUIT_HALF_OPEN_AFTER_MS: positiveInt(2_000),
  /** How often the api asks the optimizer's /healthz (shared/optimizer-health.ts). */
  OPTIMIZER_HEALTH_INTERVAL_MS: positiveInt(250),
  /** An upload's optimizer call is given up, and the upload queued, once it and the optimizer's silence both last this long. */
  OPTIMIZER_STALL_MS: positiveInt(1_000),
  WEB_ROOT: z.string().default(''),
  /** Comma-separated `secret` or `id:secret` keys, for local use (api/access/api-keys.ts). Empty with no file: the api is open. */
  API_KEYS: z.string().default(''),
  /** A YAML or JSON list of `{ id, secret | sha256, presets? }`: the keys of a real deployment. */
  API_KEYS_FILE: z.string().default(''),
  /** Uploads one client (its API key, else its address) may make per minute, across replicas (Redis); 0: no limit. */
  RATE_LIMIT_UPLOADS_PER_MINUTE: nonNegativeInt(0),
  /** Uploads a client may make beyond its minute's quota, per 10 minutes (api/access/upload-rate-limit.ts); 0: none. */
  RATE_LIMIT_BURST: nonNegativeInt(0),
  /** Uploads one client may have in flight at once in one api process; 0: no bound. */
  UPLOADS_IN_FLIGHT_PER_CLIENT: nonNegativeInt(0),
  TRUST_PROXY: trustProxy,
  /** Comma-separated HMAC keys of signed result URLs: the first signs, any verifies (api/access/signed-url.ts). Empty: no signed URLs. */
  URL_SIGNING_KEYS: commaList(z.string().min(32, 'a signing key of at least 32 characters')),
  /** How long a signed result URL given out by the api stays valid. */
  SIGNED_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(31_536_000).default(3_600),
  /** Widths and heights (px) `GET /image/{id}?w=&h=` may ask for: the renditions for srcset. */
  RENDITION_SIZES: commaList(
    z
      .string()
      .regex(/^\d{2,4}$/, 'a size in pixels, 16 to 8192')
      .transform(Number)
      .pipe(z.number().int().min(16).max(8192)),
  ).transform((sizes) => (sizes.length === 0 ? [160, 320, 480, 640, 960, 1280, 1920] : sizes)),
  /** Comma-separated origins (`https://app.example.com`) allowed to call the api from a browser, or `*`; empty: CORS off. */
  CORS_ORIGINS: commaList(z.union([z.literal('*'), z.string().regex(/^https?:\/\/[^/?#\s]+$/, 'an origin: scheme://host[:port], no path')])),
});

export const optimizerEnv = z.object({
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  SHUTDOWN_GRACE_MS: commonEnv.SHUTDOWN_GRACE_MS,
  SHUTDOWN_DELAY_MS: commonEnv.SHUTDOWN_DELAY_MS,
  PORT: port(3001),
  HOST: z.string().default('0.0.0.0'),
  MAX_UPLOAD_BYTES: positiveInt(25 * 1024 * 1024),
  MAX_INPUT_PIXELS: positiveInt(100_000_000),
  OPTIMIZER_CONCURRENCY: positiveInt(2),
  OPTIMIZER_MAX_WAITING: nonNegativeInt(8),
  ...watermarkEnv,
  /** A placed mark composited onto its own region only (optimizer/composite-region.ts): the same bytes, less CPU. */
  WATERMARK_REGION_COMPOSITE: bool(true),
});

export const workerEnv = z.object({
  ...commonEnv,
  ...watermarkEnv,
  PORT: port(3002),
  HOST: z.string().default('0.0.0.0'),
  /**
   * Unacked jobs per worker: the optimizer's concurrency (OPTIMIZER_CONCURRENCY, 2). At 1, a worker
   * holds one job for two optimizer slots, and the slot idles while the worker fetches and stores.
   */
  WORKER_PREFETCH: positiveInt(2),
  MAX_ATTEMPTS: positiveInt(5),
  RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds, e.g. 1000,5000,30000')
    .default('1000,5000,30000,120000')
    .transform((s) => s.split(',').map(Number)),
  OPTIMIZER_PROBE_INTERVAL_MS: positiveInt(500),
  HTTP_CLOSE_GRACE_MS: httpCloseGraceMs,
});

export type ApiConfig = z.infer<typeof apiEnv>;
export type OptimizerConfig = z.infer<typeof optimizerEnv>;
export type WorkerConfig = z.infer<typeof workerEnv>;
export type CommonConfig = Pick<ApiConfig, keyof typeof commonEnv>;

/** Parses `env` with `schema`; empty strings count as unset so `FOO=` falls back to the default. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const received = name in cleaned ? JSON.stringify(cleaned[name]) : 'nothing';
    return `${name}: ${issue.message} (received ${received})`;
  });
  throw new ConfigError(problems);
}

/** The controller: scales workers from queue depth, in Kubernetes or over local worker processes. */
export const controllerEnv = z.object({
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  SHUTDOWN_GRACE_MS: commonEnv.SHUTDOWN_GRACE_MS,
  RABBITMQ_URL: commonEnv.RABBITMQ_URL,
  /** Management HTTP API; credentials in the URL. Gives unacked counts that AMQP cannot. */
  RABBITMQ_MANAGEMENT_URL: url('http://guest:guest@127.0.0.1:15672'),
  RABBITMQ_MANAGEMENT_TIMEOUT_MS: positiveInt(3_000),
  PORT: port(3003),
  HOST: z.string().default('0.0.0.0'),
  HTTP_CLOSE_GRACE_MS: httpCloseGraceMs,
  CONTROLLER_MODE: z.enum(['kubernetes', 'local']).default('kubernetes'),
  /** Hysteresis of scale-down decisions, as a fraction of messagesPerReplica. */
  SCALER_TOLERANCE: z.coerce.number().min(0).max(0.5).default(0.1),
  // kubernetes mode
  WATCH_NAMESPACE: z.string().default(''),
  LEASE_NAMESPACE: z.string().default('default'),
  LEASE_NAME: z.string().min(1).default('nws-watermark-controller'),
  LEASE_DURATION_SECONDS: positiveInt(15),
  LEASE_RENEW_SECONDS: positiveInt(5),
  POD_NAME: z.string().default(''),
  // local mode
  QUEUE_SCALER_FILE: z.string().default('config/local-queuescaler.yaml'),
  WORKER_PORT: port(3002),
});
export type ControllerConfig = z.infer<typeof controllerEnv>;
