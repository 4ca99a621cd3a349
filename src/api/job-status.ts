/**
 * The status of a job as clients see it (`GET /status/{hash}`, `/events/{hash}`). Redis holds the
 * live state; when Redis lost it, the object store answers: a result means done, a failure record
 * means failed, an original alone means the job is still on its way.
 */
import type { JobStateStore } from '../shared/cache.js';
import type { ObjectStore } from '../shared/object-store.js';
import { failureRecordKey, originalKey } from '../shared/content-address.js';
import { ORIGINAL_EXTENSIONS } from '../shared/image-type.js';

export interface JobStatusView {
  status: 'pending' | 'done' | 'failed';
  url?: string;
  attempts?: number;
  error?: string;
}

export async function readJobStatus(hash: string, jobs: JobStateStore, store: ObjectStore): Promise<JobStatusView | undefined> {
  const state = await jobs.get(hash).catch(() => undefined);
  if (state) return view(hash, state.status, state.attempts, state.error);
  if (await store.findResult(hash)) return view(hash, 'done');
  const failure = await store.get(failureRecordKey(hash)).catch(() => undefined);
  if (failure) {
    const record = JSON.parse(failure.toString('utf8')) as { error?: string; attempts?: number };
    return view(hash, 'failed', record.attempts, record.error);
  }
  const original = await store.findFirst(ORIGINAL_EXTENSIONS.map((ext) => originalKey(hash, ext)));
  return original ? view(hash, 'pending') : undefined;
}

function view(hash: string, status: JobStatusView['status'], attempts?: number, error?: string): JobStatusView {
  return {
    status,
    ...(status === 'done' ? { url: `/image/${hash}` } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    ...(error ? { error } : {}),
  };
}

export function isFinal(status: JobStatusView): boolean {
  return status.status !== 'pending';
}
