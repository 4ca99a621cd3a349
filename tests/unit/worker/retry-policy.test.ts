import { describe, expect, it } from 'vitest';
import { decide, retryDelay, type RetryPolicy } from '../../../src/worker/retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, delaysMs: [1_000, 5_000, 30_000] };

describe('retry policy', () => {
  it('dead-letters a message that is not a job at once, as invalid_message', () => {
    expect(decide({ kind: 'invalid-message', detail: 'body is not JSON' }, 0, policy)).toEqual({
      action: 'dead-letter',
      reason: 'invalid_message',
      error: 'body is not JSON',
      attempts: 0,
    });
  });

  it('dead-letters a permanent failure at once, as permanent_error, counting the attempt', () => {
    const decision = decide({ kind: 'permanent', detail: 'original missing' }, 2, policy);
    expect(decision).toMatchObject({ action: 'dead-letter', reason: 'permanent_error', attempts: 3 });
  });

  it('waits for a dependency that is down without counting an attempt', () => {
    const decision = decide({ kind: 'dependency-down', dependency: 'optimizer', detail: 'ECONNREFUSED' }, 4, policy);
    expect(decision).toEqual({ action: 'wait-for-dependency', dependency: 'optimizer', error: 'ECONNREFUSED', attempts: 4 });
  });

  it('retries a failed job later with growing delays, the last one repeated', () => {
    const delays = [0, 1, 2, 3].map((n) => decide({ kind: 'job-failed', detail: 'timeout' }, n, policy));
    expect(delays.map((d) => (d.action === 'retry-later' ? d.delayMs : d.action))).toEqual([1_000, 5_000, 30_000, 30_000]);
    expect(delays.map((d) => d.attempts)).toEqual([1, 2, 3, 4]);
  });

  it('dead-letters as max_attempts when the failure that reaches the limit happens', () => {
    const decision = decide({ kind: 'job-failed', detail: 'timeout' }, 4, policy);
    expect(decision).toMatchObject({ action: 'dead-letter', reason: 'max_attempts', attempts: 5 });
    expect(decision.error).toContain('after 5 attempts');
  });

  it('never retries forever: any attempt count past the limit dead-letters', () => {
    for (let attempts = 5; attempts < 50; attempts += 7) {
      expect(decide({ kind: 'job-failed', detail: 'x' }, attempts, policy).action).toBe('dead-letter');
    }
  });

  it('falls back to one second when no delays are configured', () => {
    expect(retryDelay(3, [])).toBe(1_000);
  });
});
