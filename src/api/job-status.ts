/**
 * The status of a job as clients see it (contract: contracts/job-status.ts), for `GET /status/{id}`
 * and `/events/{id}`, by result id. Redis holds the live record; when Redis lost it, the object
 * store answers: a result means done, a failure record means failed, the queued job's record
 * (jobs/<id>.json, written before it was published) means still on its way.
 */
import { failureRecordKey, queuedJobKey } from '../shared/content-address.js';
import { decodeFailureRecord, type JobState, type JobStatus } from '../shared/contracts/index.js';
import type { JobRecordStore } from '../shared/job-record-store.js';
import type { Logger } from '../shared/logger.js';
import { ObjectNotFoundError, type ObjectStore } from '../shared/object-store.js';

export interface JobStatusSources {
  jobs: Pick<JobRecordStore, 'get'>;
  store: Pick<ObjectStore, 'findResult' | 'get' | 'findFirst'>;
  logger: Logger;
}

/**
 * Undefined when nothing is known of `resultId`. Rejects when the object store cannot answer (the
 * routes make it a 503): an outage must not pass for "no result, no failure, so pending".
 */
export async function readJobStatus(resultId: string, { jobs, store, logger }: JobStatusSources): Promise<JobStatus | undefined> {
  // Redis down is a degraded mode, not an error: its client logs the outage, the store answers.
  const record = await jobs.get(resultId).catch(() => undefined);
  if (record) return view(resultId, record.status, record.attempts, record.error);
  if (await store.findResult(resultId)) return view(resultId, 'done');
  const failure = await readFailureRecord(resultId, store, logger);
  if (failure) return view(resultId, 'failed', failure.attempts, failure.error);
  const queued = await store.findFirst([queuedJobKey(resultId)]);
  return queued ? view(resultId, 'pending') : undefined;
}

async function readFailureRecord(hash: string, store: JobStatusSources['store'], logger: Logger): Promise<{ attempts?: number; error?: string } | undefined> {
  let body: Buffer;
  try {
    body = await store.get(failureRecordKey(hash));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  const decoded = decodeFailureRecord(body);
  if (decoded.ok) return decoded.value;
  // The record exists, so the worker gave the job up: it failed. Only the details are unreadable.
  logger.warn({ hash, reason: decoded.reason }, 'failure record unreadable; answering failed without its details');
  return {};
}

function view(hash: string, status: JobState, attempts?: number, error?: string): JobStatus {
  return {
    status,
    ...(status === 'done' ? { url: `/image/${hash}` } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    ...(error ? { error } : {}),
  };
}

export function isFinal(status: JobStatus): boolean {
  return status.status !== 'pending';
}
