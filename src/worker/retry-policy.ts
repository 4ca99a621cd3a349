/**
 * What the worker does with a job that did not finish, as one pure function over a classified
 * failure. Three answers, none of which sleeps in the consumer:
 *   - dead-letter: the job can never succeed (or failed too often); it goes to the DLQ with a reason;
 *   - retry-later: the job itself failed; it waits in a delay queue, counting an attempt;
 *   - wait-for-dependency: a dependency is down, which is not the job's fault; the worker hands the
 *     job back, stops consuming and probes the dependency, resuming the moment it answers.
 */
import { backoffDelay } from '../shared/backoff.js';
import type { DeadLetterReason } from '../shared/metrics.js';

export type Dependency = 'optimizer' | 'object store';

export type JobFailure =
  /** The message is not a job: bad JSON, wrong fields, foreign keys. */
  | { kind: 'invalid-message'; detail: string }
  /** The job can never succeed: the original is gone, or the optimizer rejects the image. */
  | { kind: 'permanent'; detail: string }
  /** A dependency is unreachable or saturated. */
  | { kind: 'dependency-down'; dependency: Dependency; detail: string }
  /** The dependencies answer, yet this job failed (optimizer timeout or internal error on it). */
  | { kind: 'job-failed'; detail: string };

export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before attempt n+1 is delaysMs[n-1]; the last delay repeats. */
  delaysMs: readonly number[];
}

export type RetryDecision =
  | { action: 'dead-letter'; reason: DeadLetterReason; error: string; attempts: number }
  | { action: 'retry-later'; delayMs: number; attempts: number; error: string }
  | { action: 'wait-for-dependency'; dependency: Dependency; error: string; attempts: number };

export function decide(failure: JobFailure, attemptsSoFar: number, policy: RetryPolicy): RetryDecision {
  switch (failure.kind) {
    case 'invalid-message':
      return { action: 'dead-letter', reason: 'invalid_message', error: failure.detail, attempts: attemptsSoFar };
    case 'permanent':
      return { action: 'dead-letter', reason: 'permanent_error', error: failure.detail, attempts: attemptsSoFar + 1 };
    case 'dependency-down':
      return { action: 'wait-for-dependency', dependency: failure.dependency, error: failure.detail, attempts: attemptsSoFar };
    case 'job-failed': {
      const attempts = attemptsSoFar + 1;
      if (attempts >= policy.maxAttempts) {
        return { action: 'dead-letter', reason: 'max_attempts', error: `${failure.detail} (after ${attempts} attempts)`, attempts };
      }
      return { action: 'retry-later', delayMs: retryDelay(attempts, policy.delaysMs), attempts, error: failure.detail };
    }
  }
}

/** The delay after the `attempts`-th counted failure (1 = the first); one second with no delays configured. */
export function retryDelay(attempts: number, delaysMs: readonly number[]): number {
  return backoffDelay(delaysMs, attempts - 1, 1_000);
}
