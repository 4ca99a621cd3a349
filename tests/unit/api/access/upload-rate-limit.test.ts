import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../../../src/api/access/upload-rate-limit.js';

describe('rateLimitHeaders', () => {
  it('writes the IETF RateLimit fields: the policy, what is left, and whole seconds to reset', () => {
    expect(rateLimitHeaders({ perMinute: 5, burst: 0 }, 3, 41_200)).toEqual({ 'RateLimit-Policy': '"uploads";q=5;w=60', RateLimit: '"uploads";r=3;t=42' });
  });

  it('never says less than nothing is left, nor a reset in the past', () => {
    expect(rateLimitHeaders({ perMinute: 5, burst: 0 }, -1, -10).RateLimit).toBe('"uploads";r=0;t=0');
  });

  it('names the burst allowance as a second policy, over its own window', () => {
    expect(rateLimitHeaders({ perMinute: 5, burst: 10 }, 0, 1_000)).toEqual({
      'RateLimit-Policy': '"uploads";q=5;w=60, "burst";q=10;w=600',
      RateLimit: '"uploads";r=0;t=1',
    });
  });
});
