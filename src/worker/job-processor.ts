/**
 * One retry job, start to finish, without any AMQP: fetch the original, call the optimizer, keep
 * the result. It returns either `done` or a classified failure for the retry policy; it never acks.
 */
import type { ResultCache } from '../shared/cache.js';
import type { Job } from '../shared/contracts/index.js';
import type { JobRecordStore } from '../shared/job-record-store.js';
import { warnAndContinue, type Logger } from '../shared/logger.js';
import { ObjectNotFoundError, type ObjectStore } from '../shared/object-store.js';
import type { OptimizerClient } from '../shared/optimizer-client.js';
import { extensionForFormat, formatFromMime } from '../shared/image-type.js';
import { KeySerializer } from './key-serializer.js';
import type { JobFailure } from './retry-policy.js';
import { errorMessage } from '../shared/errors.js';

/** `announce`: whether job.done still has to be published (false when a duplicate finds it done already). */
export type ProcessResult = { kind: 'done'; alreadyDone: boolean; announce: boolean } | { kind: 'failed'; failure: JobFailure };

/** What the processor uses of each adapter, and no more (its unit test fakes exactly this). */
export interface ProcessorDependencies {
  store: Pick<ObjectStore, 'findResult' | 'get' | 'putResult'>;
  results: Pick<ResultCache, 'set'>;
  jobs: Pick<JobRecordStore, 'get' | 'markDone'>;
  optimizer: Pick<OptimizerClient, 'optimize' | 'isReady'>;
  logger: Logger;
}

export class JobProcessor {
  private readonly sameJob = new KeySerializer();

  constructor(private readonly deps: ProcessorDependencies) {}

  /**
   * `redelivered`: the broker gave this delivery to a worker before (it may have died mid-job).
   * Two copies of one job in this worker's hands run one after the other: the second finds the first done.
   */
  process(job: Job, attempts: number, redelivered = false): Promise<ProcessResult> {
    return this.sameJob.run(job.result_id, () => this.processAlone(job, attempts, redelivered));
  }

  private async processAlone(job: Job, attempts: number, redelivered: boolean): Promise<ProcessResult> {
    const { store, results, optimizer, jobs } = this.deps;
    const logger = this.deps.logger.child({ hash: job.hash, resultId: job.result_id });
    const failed = (failure: JobFailure): ProcessResult => ({ kind: 'failed', failure });

    // Idempotency: a job whose result is already kept is done, not redone. Redis says so cheaply
    // for a duplicate of a finished job, which announces nothing. The store is asked when Redis
    // cannot answer, or for a redelivery: the worker before may have stored the result and died
    // before recording it, and that done still has to be announced.
    const known = await jobs.get(job.result_id).then(
      (state) => ({ state }),
      () => undefined,
    );
    if (known?.state?.status === 'done') return { kind: 'done', alreadyDone: true, announce: false };
    if (redelivered || known === undefined) {
      try {
        // The id names the settings too: a stored result under it is this job's result.
        if (await store.findResult(job.result_id)) {
          await this.markDone(job, attempts);
          return { kind: 'done', alreadyDone: true, announce: true };
        }
      } catch (err) {
        return failed({ kind: 'dependency-down', dependency: 'object store', detail: errorMessage(err) });
      }
    }

    let original: Buffer;
    try {
      original = await store.get(job.original_key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return failed({ kind: 'permanent', detail: `original ${job.original_key} does not exist` });
      return failed({ kind: 'dependency-down', dependency: 'object store', detail: errorMessage(err) });
    }

    const result = await optimizer.optimize(original, job.filename, job.content_type, job.settings);
    switch (result.outcome) {
      case 'rejected':
        return failed({ kind: 'permanent', detail: `optimizer rejected the image: ${result.detail}` });
      case 'timeout':
        // A timeout from a healthy optimizer is this job's doing (it counts); from a dead one it is not.
        return (await optimizer.isReady())
          ? failed({ kind: 'job-failed', detail: result.detail })
          : failed({ kind: 'dependency-down', dependency: 'optimizer', detail: result.detail });
      case 'unavailable':
        return result.status !== undefined && result.status !== 503 && (await optimizer.isReady())
          ? failed({ kind: 'job-failed', detail: result.detail })
          : failed({ kind: 'dependency-down', dependency: 'optimizer', detail: result.detail });
      case 'ok':
        break;
    }

    const ext = extensionForFormat(formatFromMime(result.contentType) ?? 'jpeg');
    try {
      // The store is the record: the job is done only once the result is there.
      await store.putResult(job.result_id, ext, result.data, result.contentType, job.hash);
    } catch (err) {
      return failed({ kind: 'dependency-down', dependency: 'object store', detail: errorMessage(err) });
    }
    // The result is in the store, so these two only speed up later reads: sent together, not one after another.
    await Promise.all([
      results.set(job.result_id, { data: result.data, contentType: result.contentType }).catch(warnAndContinue(logger, 'result not cached')),
      this.markDone(job, attempts + 1),
    ]);
    return { kind: 'done', alreadyDone: false, announce: true };
  }

  private async markDone(job: Job, attempts: number): Promise<void> {
    await this.deps.jobs.markDone(job.result_id, attempts).catch(warnAndContinue(this.deps.logger.child({ resultId: job.result_id }), 'job state not updated'));
  }
}
