/**
 * The upload use case: from received bytes to a 200 image, a 202 job, or a problem. It wires the
 * pure decision (upload-decision.ts) to the adapters; every adapter failure has a defined answer,
 * and a 503 always means nothing was accepted.
 */
import type { ApiConfig } from '../shared/config.js';
import type { CachedResult } from '../shared/cache.js';
import type { ResultLookup } from './recent-results.js';
import { originalKey, queuedJobKey, sanitizeFilename } from '../shared/content-address.js';
import { PROBLEMS } from '../shared/contracts/problems.js';
import type { HashedFile } from '../shared/http/multipart.js';
import { HttpProblem } from '../shared/http/problem.js';
import { CORRELATION_HEADER, ATTEMPT_HEADER, encodeJobMessage, type Job } from '../shared/contracts/index.js';
import type { WatermarkSettings } from '../shared/contracts/watermark-settings.js';
import type { JobRecord, JobRecordStore } from '../shared/job-record-store.js';
import { warnAndContinue, type Logger } from '../shared/logger.js';
import type { ApiMetrics } from '../shared/metrics.js';
import type { ObjectStore } from '../shared/object-store.js';
import type { OptimizerClient } from '../shared/optimizer-client.js';
import { PublishError, type MessagePublisher } from '../shared/broker/publisher.js';
import { publishJobEvent } from '../shared/broker/job-events.js';
import { RETRY_QUEUE } from '../shared/broker/topology.js';
import { formatFromMime, extensionForFormat } from '../shared/image-type.js';
import { admitPixels, admitType } from './image-check.js';
import { afterOptimizing, beforeOptimizing } from './upload-decision.js';
import { errorMessage } from '../shared/errors.js';

/**
 * What the api answers an upload it accepted: the image now (200, from the cache or the optimizer),
 * or the job that will make it (202). Refusals are thrown as HttpProblem instead.
 */
export type UploadAnswer =
  | { kind: 'image'; hash: string; resultId: string; data: Buffer; contentType: string; cache: 'HIT' | 'MISS' }
  | { kind: 'queued'; hash: string; resultId: string };

export interface UploadDependencies {
  config: Pick<ApiConfig, 'MAX_INPUT_PIXELS' | 'PUBLISH_CONFIRM_TIMEOUT_MS' | 'EVENT_CONFIRM_TIMEOUT_MS'>;
  // What the service uses of each adapter, and no more (its unit test fakes exactly this).
  store: Pick<ObjectStore, 'exists' | 'put' | 'remove' | 'findResult' | 'putResult'>;
  results: ResultLookup;
  jobs: Pick<JobRecordStore, 'get' | 'claimPending' | 'releasePending' | 'markDone'>;
  optimizer: Pick<OptimizerClient, 'optimize'>;
  publisher: MessagePublisher;
  metrics: ApiMetrics;
  logger: Logger;
}

const RETRY_AFTER_SECONDS = 5;

export interface UploadRequest {
  correlationId: string;
  /** The API key that sent the upload, when keys are configured. */
  keyId?: string;
  /** The effective settings (shared/watermark/options.ts), and the result id they give these bytes. */
  settings: WatermarkSettings;
  resultId: string;
}

export class UploadService {
  constructor(private readonly deps: UploadDependencies) {}

  /**
   * `correlationId` follows this upload into the job message, the worker's logs and the job
   * events; `keyId`, the API key that sent it, goes into this service's log lines.
   */
  async handle(upload: HashedFile, request: UploadRequest): Promise<UploadAnswer> {
    const { metrics } = this.deps;
    const { correlationId, keyId, resultId } = request;
    try {
      const outcome = await this.process(upload, request, this.deps.logger.child({ hash: upload.sha256, resultId, correlationId, keyId }));
      metrics.uploads.inc({ result: outcome.kind === 'queued' ? 'queued' : outcome.cache === 'HIT' ? 'cache_hit' : 'optimized' });
      return outcome;
    } catch (err) {
      const status = err instanceof HttpProblem ? err.status : 500;
      metrics.uploads.inc({ result: status < 500 ? 'rejected' : 'failed' });
      throw err;
    }
  }

  private async process(upload: HashedFile, { correlationId, settings, resultId }: UploadRequest, log: Logger): Promise<UploadAnswer> {
    const { store, optimizer } = this.deps;
    const hash = upload.sha256;
    // 415 from the first bytes before any lookup. A hit is answered from the result alone: the job
    // is looked up only on a miss, so the hot path pays one Redis round trip.
    const type = admitType(upload.head);
    const redisHit = await this.cachedResult(resultId);
    const { cached, job } = typeof redisHit === 'object' ? { cached: redisHit, job: undefined } : await this.afterRedisMiss(resultId, redisHit);

    const first = beforeOptimizing({ hasResult: cached !== undefined, job });
    // A result or a pending job exists only for bytes that passed the header check when they were
    // first uploaded, and a hit decodes nothing: the check (a sharp header read) is for new bytes.
    if (first === 'serve-cached' && cached) return { kind: 'image', hash, resultId, ...cached, cache: 'HIT' };
    if (first === 'already-queued') return { kind: 'queued', hash, resultId };
    await admitPixels(upload.data, type, this.deps.config.MAX_INPUT_PIXELS);

    // Stored before anything else can happen to it: from here on the original is never lost.
    const key = originalKey(hash, type.ext);
    let createdOriginal: boolean;
    try {
      createdOriginal = !(await store.exists(key));
      if (createdOriginal) {
        // The content address is the SHA-256 the store's request signature needs: no second hash.
        const metadata = { 'x-amz-meta-filename': encodeURIComponent(sanitizeFilename(upload.filename)) };
        await store.put(key, upload.data, type.mime, { metadata, sha256: hash });
      }
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'original not stored');
      throw unavailable('The object store cannot take the original right now; nothing was accepted');
    }

    const filename = sanitizeFilename(upload.filename);
    const result = await optimizer.optimize(upload.data, filename, type.mime, settings);
    switch (afterOptimizing(result)) {
      case 'serve-result': {
        if (result.outcome !== 'ok') break;
        await this.keepResult(hash, resultId, result.data, result.contentType, log);
        return { kind: 'image', hash, resultId, data: result.data, contentType: result.contentType, cache: 'MISS' };
      }
      case 'reject': {
        if (createdOriginal) await store.remove(key).catch(warnAndContinue(log, 'rejected original not removed'));
        const detail = result.outcome === 'rejected' ? result.detail : 'The optimizer rejected the image';
        throw new HttpProblem(PROBLEMS.undecodable, detail);
      }
      case 'enqueue':
        log.info({ reason: 'detail' in result ? result.detail : result.outcome }, 'optimizer unavailable; queueing');
        return this.enqueue(
          { hash, result_id: resultId, settings, original_key: key, filename, content_type: type.mime, enqueued_at: new Date().toISOString() },
          createdOriginal,
          correlationId,
          log,
        );
    }
    throw new Error('unreachable upload outcome');
  }

  /**
   * The job record and a stored result, when Redis holds no result. The store is asked only when
   * Redis cannot say these bytes are new: Redis is down, or it knows a job for them whose result it
   * no longer holds. Bytes Redis has never seen are new.
   */
  private async afterRedisMiss(resultId: string, redisHit: 'miss' | 'unavailable'): Promise<{ cached: CachedResult | undefined; job: JobRecord | undefined }> {
    const jobLookup = await this.deps.jobs.get(resultId).then(
      (state) => ({ state }),
      () => undefined,
    );
    const job = jobLookup?.state;
    const redisKnowsNothing = redisHit === 'miss' && jobLookup !== undefined && job === undefined;
    return { cached: redisKnowsNothing ? undefined : await this.storedResult(resultId), job };
  }

  /** The cached result, 'miss', or 'unavailable' when Redis cannot answer. */
  private async cachedResult(resultId: string): Promise<{ data: Buffer; contentType: string } | 'miss' | 'unavailable'> {
    try {
      return (await this.deps.results.get(resultId)) ?? 'miss';
    } catch {
      return 'unavailable';
    }
  }

  /** A stored result, re-warming Redis with it. */
  private async storedResult(resultId: string): Promise<{ data: Buffer; contentType: string } | undefined> {
    const { results, store, logger } = this.deps;
    const stored = await store.findResult(resultId).catch((err: unknown) => {
      logger.warn({ err: errorMessage(err) }, 'object store lookup failed; treating as a miss');
      return undefined;
    });
    if (!stored) return undefined;
    await results.set(resultId, stored).catch(warnAndContinue(logger, 'stored result not cached again'));
    return { data: stored.data, contentType: stored.contentType };
  }

  private async keepResult(hash: string, resultId: string, data: Buffer, contentType: string, log: Logger): Promise<void> {
    const { store, results, jobs } = this.deps;
    const ext = extensionForFormat(formatFromMime(contentType) ?? 'jpeg');
    // The caller gets its image even if keeping it fails: the next upload of the same bytes redoes it.
    await Promise.all([
      store.putResult(resultId, ext, data, contentType, hash).catch(warnAndContinue(log, 'result not stored')),
      results.set(resultId, { data, contentType }).catch(warnAndContinue(log, 'result not cached')),
      jobs.markDone(resultId, 0).catch(warnAndContinue(log, 'job state not updated')),
    ]);
  }

  private async enqueue(job: Job, createdOriginal: boolean, correlationId: string, logger: Logger): Promise<UploadAnswer> {
    const { jobs, publisher, metrics, store } = this.deps;
    const queued: UploadAnswer = { kind: 'queued', hash: job.hash, resultId: job.result_id };
    const claimed = await jobs.claimPending(job.result_id).catch((err: unknown) => {
      // Without Redis there is no de-duplication; a second job for the same result is harmless (idempotent worker).
      logger.warn({ err: errorMessage(err) }, 'job state unavailable; publishing without de-duplication');
      return true;
    });
    if (!claimed) return queued;
    const body = encodeJobMessage(job);
    const recordKey = queuedJobKey(job.result_id);
    try {
      // The store's copy says "pending" if Redis loses the record before the job is done.
      await store.put(recordKey, body, 'application/json');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'queued job not recorded');
      await jobs.releasePending(job.result_id).catch(warnAndContinue(logger, 'pending claim not released'));
      throw unavailable('The object store cannot record the job right now; nothing was accepted');
    }
    try {
      await publisher.publish(
        '',
        RETRY_QUEUE,
        body,
        {
          persistent: true,
          contentType: 'application/json',
          messageId: job.result_id,
          timestamp: Math.floor(Date.now() / 1000),
          headers: { [ATTEMPT_HEADER]: 0, [CORRELATION_HEADER]: correlationId },
        },
        this.deps.config.PUBLISH_CONFIRM_TIMEOUT_MS,
      );
    } catch (err) {
      const failure = err instanceof PublishError ? err.failure : 'refused';
      logger.warn({ err: errorMessage(err), failure }, 'job not confirmed; answering 503');
      // Until the claim expires, uploads of these bytes are told a job is queued: worth a line.
      await jobs.releasePending(job.result_id).catch(warnAndContinue(logger, 'pending claim not released'));
      if (failure === 'unknown') {
        // The broker may still enqueue it: keep the original and the record so that job can finish, and say so.
        throw new HttpProblem(
          PROBLEMS.unconfirmed,
          'The job queue did not confirm the job in time; it may still be processed. Upload the same image again later to learn its state',
          { retryAfterSeconds: RETRY_AFTER_SECONDS },
        );
      }
      await store.remove(recordKey).catch(warnAndContinue(logger, 'record of a refused job not removed'));
      if (createdOriginal) await store.remove(job.original_key).catch(warnAndContinue(logger, 'original of a refused job not removed'));
      throw unavailable('The job queue cannot take the job right now; nothing was accepted');
    }
    metrics.jobsPublished.inc();
    logger.info('job queued');
    // Not awaited: the 202 does not wait for a notification, and a failed one is logged by publishJobEvent.
    void publishJobEvent(publisher, { type: 'job.queued', hash: job.result_id, attempts: 0, correlationId }, this.deps.config.EVENT_CONFIRM_TIMEOUT_MS, logger);
    return queued;
  }
}

function unavailable(detail: string): HttpProblem {
  return new HttpProblem(PROBLEMS.unavailable, detail, { retryAfterSeconds: RETRY_AFTER_SECONDS });
}
