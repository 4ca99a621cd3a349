/**
 * The api's HTTP routes (docs/architecture.md, "HTTP contract"). Handlers only translate between
 * HTTP and the use cases: the upload service, job status, stored images and job events.
 */
import type { Express, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { ApiConfig } from '../shared/config.js';
import type { ResultLookup } from './recent-results.js';
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
import { signedImagePath } from './access/signed-url.js';
import type { UploadRateLimit } from './access/upload-rate-limit.js';
import type { UploadsInFlight } from './access/uploads-in-flight.js';
import { requestKey } from './access/require-key.js';
import type { EventsHub } from './events-hub.js';
import { presetRefusedEarly, queryPairs, uploadOptions } from './upload-options.js';
import { makeRendition, renditionKey, renditionName, renditionSpec } from './renditions.js';
import { presetsView } from './presets-view.js';
import { resultIdFor, settingsHeader } from '../shared/watermark/identity.js';
import type { PresetCatalog } from '../shared/watermark/presets.js';
import { isFinal, readJobStatus } from './job-status.js';
import type { UploadService } from './upload-service.js';
import { errorMessage } from '../shared/errors.js';

export interface RouteDependencies {
  config: Pick<ApiConfig, 'MAX_UPLOAD_BYTES' | 'UPLOAD_IDLE_TIMEOUT_MS' | 'URL_SIGNING_KEYS' | 'SIGNED_URL_TTL_SECONDS' | 'RENDITION_SIZES'>;
  /** The operator's presets and logos: what an upload may ask for. */
  catalog: PresetCatalog;
  uploads: UploadService;
  jobs: JobRecordStore;
  results: ResultLookup;
  store: ObjectStore;
  events: EventsHub;
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

/** How often an open event stream re-reads the status, in case an event was missed during a reconnect. */
const EVENTS_RECHECK_MS = 2_000;
const EVENTS_HEARTBEAT_MS = 15_000;

/** The `{id}` of `/status`, `/image` and `/events`: a result id (X-Result-Id, the 202's jobId). */
function idParam(req: Request): string {
  const id = req.params.id;
  if (!isImageHash(id)) throw new HttpProblem(PROBLEMS.badHash, 'The id must be a result id: 64 lowercase hexadecimal characters');
  return id;
}

function notFound(id: string): HttpProblem {
  return new HttpProblem(PROBLEMS.unknownImage, `No result or job is known for ${id}`);
}

export function mountRoutes(app: Express, deps: RouteDependencies): void {
  const { config, uploads, jobs, results, store, events, catalog, logger } = deps;
  const statusSources = { jobs, store, logger };
  const budget = new UploadMemoryBudget(uploadMemoryBudgetBytes(config.MAX_UPLOAD_BYTES));
  // The catalogue is read once at start: so is its view.
  const presets = presetsView(catalog);
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
    const query = queryPairs(req.originalUrl);
    const refused = presetRefusedEarly(query, key);
    if (refused) throw refused.leavingBodyUnread();
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
    // Query parameters and text fields are one set of options: a name in both is refused, not chosen.
    const options = uploadOptions([...query, ...upload.fields], catalog, req.headers.accept, key);
    const resultId = resultIdFor(upload.sha256, options.settings);
    res.set({ 'X-Image-Hash': upload.sha256, 'X-Result-Id': resultId });
    if (options.negotiated) res.vary('Accept');
    const outcome = await uploads.handle(upload, { correlationId, keyId: key?.id, settings: options.settings, resultId });
    if (outcome.kind === 'queued') {
      const accepted = acceptedJob(outcome.resultId, outcome.hash, options.settings);
      res.status(202).location(accepted.statusUrl).json(accepted);
      return;
    }
    // Content-Location: where this representation can be read again, signed so no key is needed.
    const signed = signedUrl(outcome.resultId);
    if (signed !== undefined) res.set('Content-Location', signed);
    res
      .status(200)
      .type(outcome.contentType)
      .set({ 'X-Cache': outcome.cache, 'X-Watermark-Settings': settingsHeader(options.settings), 'Cache-Control': 'no-store' })
      .send(outcome.data);
  });

  app.get('/presets', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache').json(presets);
  });

  app.get('/status/:id', async (req: Request, res: Response) => {
    const hash = idParam(req);
    const status = await readJobStatus(hash, statusSources).catch(storeDown);
    if (!status) throw notFound(hash);
    res.set('Cache-Control', 'no-store').json(withSignedUrl(hash, status));
  });

  app.get('/image/:id', async (req: Request, res: Response) => {
    const id = idParam(req);
    const rendition = renditionSpec(queryPairs(req.originalUrl), config.RENDITION_SIZES, req.headers.accept);
    const result = await readResult(id);
    if (!result) throw notFound(id);
    // The result is the same bytes forever (its id names them): so is each rendition of it.
    const cacheHeaders = { 'Cache-Control': 'public, max-age=31536000, immutable', 'X-Result-Id': id };
    if (rendition?.negotiated) res.vary('Accept');
    const etag = `"${id.slice(0, 32)}${rendition ? `-${renditionName(rendition)}` : ''}"`;
    res.set({ ETag: etag, ...cacheHeaders });
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    const image = rendition ? await readRendition(id, result.data, rendition) : result;
    res.type(image.contentType).send(image.data);
  });

  /** The finished result from Redis, else from the store (warming Redis again), or undefined. */
  async function readResult(id: string): Promise<{ data: Buffer; contentType: string } | undefined> {
    // Redis down is a miss here: the store below answers (the client logs the outage).
    const cached = await results.get(id).catch(() => undefined);
    if (cached) return cached;
    const stored = await store.findResult(id).catch(storeDown);
    if (!stored) return undefined;
    const image = { data: stored.data, contentType: stored.contentType };
    await results.set(id, image).catch(warnAndContinue(logger, 'stored result not cached again'));
    return image;
  }

  /** A rendition from Redis, the store, or made now from the result and kept in both. */
  async function readRendition(id: string, result: Buffer, spec: Parameters<typeof renditionKey>[1]): Promise<{ data: Buffer; contentType: string }> {
    const cacheId = `${id}:${renditionName(spec)}`;
    const cached = await results.get(cacheId).catch(() => undefined);
    if (cached) return cached;
    const key = renditionKey(id, spec);
    const stored = await store.findFirst([key]).catch(() => undefined);
    if (stored) {
      const data = await store.get(key).catch(() => undefined);
      if (data) return { data, contentType: stored.metaData['content-type'] ?? 'application/octet-stream' };
    }
    const made = await makeRendition(result, spec);
    const image = { data: made.data, contentType: made.contentType };
    await Promise.all([
      results.set(cacheId, image).catch(warnAndContinue(logger, 'rendition not cached')),
      store.put(key, made.data, made.contentType).catch(warnAndContinue(logger, 'rendition not stored')),
    ]);
    return image;
  }

  app.get('/events/:id', async (req: Request, res: Response) => {
    const hash = idParam(req);
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
