/**
 * The upload decision, as pure functions over what the adapters found. The upload route asks
 * `beforeOptimizing` with what the caches know, then `afterOptimizing` with the optimizer's outcome.
 *
 *   cached result ─────────────────────────────► 200 HIT
 *   job pending ───────────────────────────────► same 202, no second job
 *   otherwise: store original, call optimizer
 *       ok ────────────────────────────────────► 200 MISS (result stored and cached)
 *       rejected (bad image) ──────────────────► 422, nothing kept
 *       unavailable / timeout ─────────────────► persistent job, 202 after the broker's confirm
 */
import type { JobRecord } from '../shared/job-record-store.js';
import type { OptimizeResult } from '../shared/optimizer-client.js';

export interface KnownState {
  /** A finished result exists for the current watermark settings (Redis or object store). */
  hasResult: boolean;
  job: JobRecord | undefined;
}

export type BeforeOptimizing = 'serve-cached' | 'already-queued' | 'optimize';

export function beforeOptimizing({ hasResult, job }: KnownState): BeforeOptimizing {
  if (hasResult) return 'serve-cached';
  if (job?.status === 'pending') return 'already-queued';
  // done-but-no-result means the settings changed or the result was lost: do it again.
  // failed is retried on a new upload: the user asked again, the cause may be gone.
  return 'optimize';
}

export type AfterOptimizing = 'serve-result' | 'reject' | 'enqueue';

export function afterOptimizing(result: OptimizeResult): AfterOptimizing {
  switch (result.outcome) {
    case 'ok':
      return 'serve-result';
    case 'rejected':
      return 'reject';
    case 'unavailable':
    case 'timeout':
      return 'enqueue';
  }
}
