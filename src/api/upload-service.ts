/**
 * The upload use case: from received bytes to a 200 image, a 202 job, or a problem. It wires the
 * pure decision (upload-decision.ts) to the adapters; every adapter failure has a defined answer,
 * and a 503 always means nothing was accepted.
 */
import type { ApiConfig } from '../shared/config.js';
import type { ResultCache } from '../shared/cache.js';
import { originalKey, sanitizeFilename } from '../shared/content-address.js';
import { PROBLEMS } from '../shared/contracts/problems.js';
import type { HashedFile } from '../shared/http/multipart.js';
import { HttpProblem } from '../shared/http/problem.js';
import { CORRELATION_HEADER, ATTEMPT_HEADER, encodeJobMessage, type JobMessage } from '../shared/contracts/index.js';
import type { JobRecordStore } from '../shared/job-record-store.js';
import { warnAndContinue, type Logger } from '../shared/logger.js';
import type { ApiMetrics } from '../shared/metrics.js';
import type { ObjectStore } from '../shared/object-store.js';
import type { OptimizerClient } from '../shared/optimizer-client.js';
import { PublishError, type MessagePublisher } from '../shared/broker/publisher.js';
import { publishJobEvent } from '../shared/broker/job-events.js';
import { RETRY_QUEUE } from '../shared/broker/topology.js';
import { formatFromMime, extensionForFormat } from '../shared/image-type.js';
import type { FingerprintTracker } from './fingerprint.js';
import { admitPixels, admitType } from './image-check.js';
import { afterOptimizing, beforeOptimizing } from './upload-decision.js';
import { errorMessage } from '../shared/errors.js';

/**
 * What the api answers an upload it accepted: the image now (200, from the cache or the optimizer),
 * or the job that will make it (202). Refusals are thrown as HttpProblem instead.
 */
export type UploadAnswer = { kind: 'image'; hash: string; data: Buffer; contentType: string; cache: 'HIT' | 'MISS' } | { kind: 'queued'; hash: string };

export interface UploadDependencies {
  config: Pick<ApiConfig, 'MAX_INPUT_PIXELS' | 'PUBLISH_CONFIRM_TIMEOUT_MS' | 'EVENT_CONFIRM_TIMEOUT_MS'>;
  // What the service uses of each adapter, and no more (its unit test fakes exactly this).
  store: Pick<ObjectStore, 'exists' | 'put' | 'remove' | 'findResult' | 'putResult'>;
  results: Pick<ResultCache, 'get' | 'set'>;
  jobs: Pick<JobRecordStore, 'get' | 'claimPending' | 'releasePending' | 'markDone'>;
  optimizer: Pick<OptimizerClient, 'optimize'>;
  publisher: MessagePublisher;
  fingerprint: Pick<FingerprintTracker, 'value' | 'update'>;
  metrics: ApiMetrics;
  logger: Logger;
}

const RETRY_AFTER_SECONDS = 5;

export interface UploadRequest {
  correlationId: string;
  /** The API key that sent the upload, when keys are configured. */
  keyId?: string;
}

export class UploadService {
  constructor(private readonly deps: UploadDependencies) {}

  /**
   * `correlationId` follows this upload into the job message, the worker's logs and the job
   * events; `keyId`, the API key that sent it, goes into this service's log lines.
   */
  async handle(upload: HashedFile, { correlationId, keyId }: UploadRequest): Promise<UploadAnswer> {
    const { metrics } = this.deps;
    try {
      const outcome = await this.process(upload, correlationId, this.deps.logger.child({ hash: upload.sha256, correlationId, keyId }));
      metrics.uploads.inc({ result: outcome.kind === 'queued' ? 'queued' : outcome.cache === 'HIT' ? 'cache_hit' : 'optimized' });
      return outcome;
    } catch (err) {
      const status = err instanceof HttpProblem ? err.status : 500;
      metrics.uploads.inc({ result: status < 500 ? 'rejected' : 'failed' });
      throw err;
    }
  }

  private async process(upload: HashedFile, correlationId: string, log: Logger): Promise<UploadAnswer> {
    const { store, jobs, optimizer } = this.deps;
    const hash = upload.sha256;
    // 415 from the first bytes before any lookup; the result and the job are looked up together.
    const type = admitType(upload.data);
    const [redisHit, jobLookup] = await Promise.all([
      this.cachedResult(hash),
      jobs.get(hash).then(
        (state) => ({ state }),
        () => undefined,
      ),
    ]);
    const job = jobLookup?.state;
    // The store is asked only when Redis cannot say these bytes are new: Redis is down, or it
    // knows a job for them whose result it no longer holds. Bytes Redis has never seen are new.
    const redisKnowsNothing = redisHit !== 'unavailable' && jobLookup !== undefined && job === undefined;
    const cached = typeof redisHit === 'object' ? redisHit : redisKnowsNothing ? undefined : await this.storedResult(hash);

    const first = beforeOptimizing({ hasResult: cached !== undefined, job });
    // A result or a pending job exists only for bytes that passed the header check when they were
    // first uploaded, and a hit decodes nothing: the check (a sharp header read) is for new bytes.
    if (first === 'serve-cached' && cached) return { kind: 'image', hash, ...cached, cache: 'HIT' };
    if (first === 'already-queued') return { kind: 'queued', hash };
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
    const result = await optimizer.optimize(upload.data, filename, type.mime);
    switch (afterOptimizing(result)) {
      case 'serve-result': {
        if (result.outcome !== 'ok') break;
        await this.keepResult(hash, result.data, result.contentType, result.fingerprint, log);
        return { kind: 'image', hash, data: result.data, contentType: result.contentType, cache: 'MISS' };
      }
      case 'reject': {
        if (createdOriginal) await store.remove(key).catch(warnAndContinue(log, 'rejected original not removed'));
        const detail = result.outcome === 'rejected' ? result.detail : 'The optimizer rejected the image';
        throw new HttpProblem(PROBLEMS.undecodable, detail);
      }
      case 'enqueue':
        log.info({ reason: 'detail' in result ? result.detail : result.outcome }, 'optimizer unavailable; queueing');
        return this.enqueue(
          { hash, original_key: key, filename, content_type: type.mime, enqueued_at: new Date().toISOString() },
          createdOriginal,
          correlationId,
          log,
        );
    }
    throw new Error('unreachable upload outcome');
  }

  /** The cached result for the current settings, 'miss', or 'unavailable' when Redis cannot answer. */
  private async cachedResult(hash: string): Promise<{ data: Buffer; contentType: string } | 'miss' | 'unavailable'> {
    const current = this.deps.fingerprint.value;
    if (!current) return 'miss';
    try {
      return (await this.deps.results.get(hash, current)) ?? 'miss';
    } catch {
      return 'unavailable';
    }
  }

  /** A stored result for the current settings, re-warming Redis with it. */
  private async storedResult(hash: string): Promise<{ data: Buffer; contentType: string } | undefined> {
    const { results, store, fingerprint, logger } = this.deps;
    const current = fingerprint.value;
    if (!current) return undefined;
    const stored = await store.findResult(hash).catch((err: unknown) => {
      logger.warn({ err: errorMessage(err) }, 'object store lookup failed; treating as a miss');
      return undefined;
    });
    if (stored?.fingerprint !== current) return undefined;
    await results.set(hash, current, stored).catch(warnAndContinue(logger, 'stored result not cached again'));
    return { data: stored.data, contentType: stored.contentType };
  }

  private async keepResult(hash: string, data: Buffer, contentType: string, fingerprint: string, log: Logger): Promise<void> {
    const { store, results, jobs } = this.deps;
    await this.deps.fingerprint.update(fingerprint);
    const ext = extensionForFormat(formatFromMime(contentType) ?? 'jpeg');
    // The caller gets its image even if keeping it fails: the next upload of the same bytes redoes it.
    await Promise.all([
      store.putResult(hash, ext, data, contentType, fingerprint).catch(warnAndContinue(log, 'result not stored')),
      results.set(hash, fingerprint, { data, contentType }).catch(warnAndContinue(log, 'result not cached')),
      jobs.markDone(hash, 0).catch(warnAndContinue(log, 'job state not updated')),
    ]);
  }

  private async enqueue(job: JobMessage, createdOriginal: boolean, correlationId: string, logger: Logger): Promise<UploadAnswer> {
    const { jobs, publisher, metrics, store } = this.deps;
    const claimed = await jobs.claimPending(job.hash).catch((err: unknown) => {
      // Without Redis there is no de-duplication; a second job for the same bytes is harmless (idempotent worker).
      logger.warn({ err: errorMessage(err) }, 'job state unavailable; publishing without de-duplication');
      return true;
    });
    if (!claimed) return { kind: 'queued', hash: job.hash };
    try {
      await publisher.publish(
        '',
        RETRY_QUEUE,
        encodeJobMessage(job),
        {
          persistent: true,
          contentType: 'application/json',
          messageId: job.hash,
          timestamp: Math.floor(Date.now() / 1000),
          headers: { [ATTEMPT_HEADER]: 0, [CORRELATION_HEADER]: correlationId },
        },
        this.deps.config.PUBLISH_CONFIRM_TIMEOUT_MS,
      );
    } catch (err) {
      const failure = err instanceof PublishError ? err.failure : 'refused';
      logger.warn({ err: errorMessage(err), failure }, 'job not confirmed; answering 503');
      // Until the claim expires, uploads of these bytes are told a job is queued: worth a line.
      await jobs.releasePending(job.hash).catch(warnAndContinue(logger, 'pending claim not released'));
      if (failure === 'unknown') {
        // The broker may still enqueue it: keep the original so that job can finish, and say so.
        throw new HttpProblem(
          PROBLEMS.unconfirmed,
          'The job queue did not confirm the job in time; it may still be processed. Upload the same image again later to learn its state',
          { retryAfterSeconds: RETRY_AFTER_SECONDS },
        );
      }
      if (createdOriginal) await store.remove(job.original_key).catch(warnAndContinue(logger, 'original of a refused job not removed'));
      throw unavailable('The job queue cannot take the job right now; nothing was accepted');
    }
    metrics.jobsPublished.inc();
    logger.info('job queued');
    // Not awaited: the 202 does not wait for a notification, and a failed one is logged by publishJobEvent.
    void publishJobEvent(publisher, { type: 'job.queued', hash: job.hash, attempts: 0, correlationId }, this.deps.config.EVENT_CONFIRM_TIMEOUT_MS, logger);
    return { kind: 'queued', hash: job.hash };
  }
}

function unavailable(detail: string): HttpProblem {
  return new HttpProblem(PROBLEMS.unavailable, detail, { retryAfterSeconds: RETRY_AFTER_SECONDS });
}
