/**
 * The api's HTTP routes (docs/architecture.md, "HTTP contract"). Handlers only translate between
 * HTTP and the use cases: the upload service, job status, stored images and job events.
 */
import type { Express, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { ApiConfig } from '../shared/config.js';
import type { ResultCache } from '../shared/cache.js';
import { isImageHash } from '../shared/content-address.js';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { acceptedJob, type JobStatus } from '../shared/contracts/index.js';
import { readMultipartFile } from '../shared/http/multipart.js';
import { HttpProblem } from '../shared/http/problem.js';
import { UploadMemoryBudget } from '../shared/http/upload-budget.js';
import type { JobRecordStore } from '../shared/job-record-store.js';
import { warnAndContinue, type Logger } from '../shared/logger.js';
import type { ApiMetrics } from '../shared/metrics.js';
import type { ObjectStore } from '../shared/object-store.js';
import { mayUsePreset } from './access/api-keys.js';
import { signedImagePath } from './access/signed-url.js';
import type { UploadRateLimit } from './access/upload-rate-limit.js';
import type { UploadsInFlight } from './access/uploads-in-flight.js';
import { presetRefused, requestKey } from './access/require-key.js';
import type { EventsHub } from './events-hub.js';
import type { FingerprintTracker } from './fingerprint.js';
import { isFinal, readJobStatus } from './job-status.js';
import type { UploadService } from './upload-service.js';
import { errorMessage } from '../shared/errors.js';

export interface RouteDependencies {
  config: Pick<ApiConfig, 'MAX_UPLOAD_BYTES' | 'UPLOAD_IDLE_TIMEOUT_MS' | 'URL_SIGNING_KEYS' | 'SIGNED_URL_TTL_SECONDS'>;
  uploads: UploadService;
  jobs: JobRecordStore;
  results: ResultCache;
  store: ObjectStore;
  events: EventsHub;
  fingerprint: FingerprintTracker;
  /** Uploads per client per minute; absent when RATE_LIMIT_UPLOADS_PER_MINUTE is 0. */
  uploadLimit?: UploadRateLimit;
  /** Uploads per client at once; absent when UPLOADS_IN_FLIGHT_PER_CLIENT is 0. */
  inFlight?: UploadsInFlight;
  metrics: Pick<ApiMetrics, 'rateLimited'>;
  logger: Logger;
}

/**
 * Bytes of uploads held in memory at once (received, stored, sent to the optimizer): past it, new
 * bodies wait unread, held back by TCP, so 32 concurrent 10 MB uploads cost this much, not 320 MB.
 * At least two uploads of the largest allowed size always fit.
 */
export function uploadMemoryBudgetBytes(maxUploadBytes: number): number {
  return Math.max(32 * 1024 * 1024, 2 * maxUploadBytes);
}

/**
 * The preset every upload uses until uploads can name one: a key limited to other presets is
 * refused (403) rather than given a mark it was not meant to use.
 */
const DEFAULT_PRESET = 'default';

/** How often an open event stream re-reads the status, in case an event was missed during a reconnect. */
const EVENTS_RECHECK_MS = 2_000;
const EVENTS_HEARTBEAT_MS = 15_000;

function hashParam(req: Request): string {
  const hash = req.params.hash;
  if (!isImageHash(hash)) throw new HttpProblem(PROBLEMS.badHash, 'The hash must be 64 lowercase hexadecimal characters');
  return hash;
}

function notFound(hash: string): HttpProblem {
  return new HttpProblem(PROBLEMS.unknownImage, `No upload is known for ${hash}`);
}

export function mountRoutes(app: Express, deps: RouteDependencies): void {
  const { config, uploads, jobs, results, store, events, fingerprint, logger } = deps;
  const statusSources = { jobs, store, logger };
  const budget = new UploadMemoryBudget(uploadMemoryBudgetBytes(config.MAX_UPLOAD_BYTES));
  /** A result's URL signed for SIGNED_URL_TTL_SECONDS from now, when URL signing is on. */
  const signedUrl = (hash: string): string | undefined =>
    config.URL_SIGNING_KEYS.length === 0
      ? undefined
      : signedImagePath(hash, Math.floor(Date.now() / 1000) + config.SIGNED_URL_TTL_SECONDS, config.URL_SIGNING_KEYS);
  const withSignedUrl = (hash: string, status: JobStatus): JobStatus => {
    const signed = status.status === 'done' ? signedUrl(hash) : undefined;
    return signed === undefined ? status : { ...status, signedUrl: signed };
  };

  app.post('/upload', async (req: Request, res: Response) => {
    const correlationId = correlationIdFrom(req.headers['x-request-id']);
    res.setHeader('X-Correlation-Id', correlationId);
    // Refused before the body is read, so nothing of it is stored.
    const key = requestKey(res);
    if (key && !mayUsePreset(key, DEFAULT_PRESET)) throw presetRefused(key, DEFAULT_PRESET).leavingBodyUnread();
    // Per key when keys are configured, else per client address (req.ip honours express's trust proxy).
    const client = key ? `key:${key.id}` : `ip:${req.ip ?? 'unknown'}`;
    if (deps.inFlight) {
      const slot = deps.inFlight.enter(client);
      if ('problem' in slot) {
        deps.metrics.rateLimited.inc({ limit: 'concurrency' });
        throw slot.problem;
      }
      res.once('close', slot.release);
    }
    if (deps.uploadLimit) {
      const decision = await deps.uploadLimit.take(client);
      if (!decision.allowed) throw decision.problem;
      res.set(decision.headers);
    }
    const upload = await readMultipartFile(req, {
      fieldName: 'image',
      maxBytes: config.MAX_UPLOAD_BYTES,
      idleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
      budget,
      sha256: true,
      // The public edge: a body left unread (413, bad multipart) is discarded within bounds, then cut.
      unreadBody: 'linger',
    });
    // The bytes stay in use until the answer is written (the 200 body may be the optimizer's result).
    res.once('close', upload.release);
    const outcome = await uploads.handle(upload, { correlationId, keyId: key?.id });
    if (outcome.kind === 'queued') {
      const accepted = acceptedJob(outcome.hash);
      res.status(202).location(accepted.statusUrl).json(accepted);
      return;
    }
    // Content-Location: where this representation can be read again, signed so no key is needed.
    const signed = signedUrl(outcome.hash);
    if (signed !== undefined) res.set('Content-Location', signed);
    res.status(200).type(outcome.contentType).set({ 'X-Cache': outcome.cache, 'X-Image-Hash': outcome.hash, 'Cache-Control': 'no-store' }).send(outcome.data);
  });

  app.get('/status/:hash', async (req: Request, res: Response) => {
    const hash = hashParam(req);
    const status = await readJobStatus(hash, statusSources).catch(storeDown);
    if (!status) throw notFound(hash);
    res.set('Cache-Control', 'no-store').json(withSignedUrl(hash, status));
  });

  app.get('/image/:hash', async (req: Request, res: Response) => {
    const hash = hashParam(req);
    const current = fingerprint.value;
    // Redis down is a miss here: the store below answers (the client logs the outage).
    let image = current ? await results.get(hash, current).catch(() => undefined) : undefined;
    let etagFingerprint = current;
    if (!image) {
      const stored = await store.findResult(hash).catch(storeDown);
      if (!stored) throw notFound(hash);
      image = { data: stored.data, contentType: stored.contentType };
      etagFingerprint = stored.fingerprint ?? 'unknown';
      if (stored.fingerprint) await results.set(hash, stored.fingerprint, image).catch(warnAndContinue(logger, 'stored result not cached again'));
    }
    const etag = `"${hash.slice(0, 32)}-${(etagFingerprint ?? 'unknown').slice(0, 16)}"`;
    res.set({ ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable', 'X-Image-Hash': hash });
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.type(image.contentType).send(image.data);
  });

  app.get('/events/:hash', async (req: Request, res: Response) => {
    const hash = hashParam(req);
    let last = '';
    let closed = false;
    const send = (status: JobStatus) => {
      // Compared without the signed URL, whose expiry moves on every read.
      const data = JSON.stringify(status);
      if (data === last || closed) return;
      last = data;
      res.write(`event: status\ndata: ${JSON.stringify(withSignedUrl(hash, status))}\n\n`);
      if (isFinal(status)) finish();
    };
    const refresh = async () => {
      // The store cannot answer: the stream keeps its last status, and the next event or recheck asks again.
      const status = await readJobStatus(hash, statusSources).catch(() => undefined);
      if (status) send(status);
    };
    // Subscribe before the first read so no event falls between the two.
    const unsubscribe = events.subscribe(hash, () => void refresh());
    const recheck = setInterval(() => void refresh(), EVENTS_RECHECK_MS);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), EVENTS_HEARTBEAT_MS);
    function finish(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(recheck);
      clearInterval(heartbeat);
      if (res.headersSent) res.end();
    }
    req.once('close', finish);

    const first = await readJobStatus(hash, statusSources).catch((err: unknown) => {
      finish();
      return storeDown(err);
    });
    if (!first) {
      finish();
      throw notFound(hash);
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 1000\n\n');
    send(first);
  });
}

/** A caller's X-Request-Id when it is a sane token (it reaches logs and headers), else a new id. */
function correlationIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{8,128}$/.test(header) ? header : randomUUID();
}

function storeDown(err: unknown): never {
  throw new HttpProblem(PROBLEMS.unavailable, `The object store cannot answer right now: ${errorMessage(err)}`, { retryAfterSeconds: 5 });
}
