/**
 * Uploads per client per minute, with an optional burst allowance beyond it, counted in Redis by
 * rate-limiter-flexible (its BurstyRateLimiter: the burst is a second, wider window drawn on only
 * when the minute's quota is used up), so the limit holds across api replicas. Each upload costs a fraction of a CPU-second of optimizer work: an open
 * endpoint without this is a denial of service waiting to happen. When Redis cannot answer, the
 * limiter fails open (the upload goes on) and says so, because availability is the product's
 * promise and a limiter must not become its single point of failure.
 */
import type { Redis } from 'ioredis';
import type { Counter, Gauge } from 'prom-client';
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PROBLEMS } from '../../shared/contracts/problems.js';
import { errorMessage } from '../../shared/errors.js';
import { HttpProblem } from '../../shared/http/problem.js';
import type { Logger } from '../../shared/logger.js';

const WINDOW_SECONDS = 60;
/** The burst allowance refills over this window: a client may go past its minute's quota now and then. */
export const BURST_WINDOW_SECONDS = 600;
/** The policies' names in the RateLimit headers. */
const POLICY = 'uploads';
const BURST_POLICY = 'burst';

export interface UploadQuota {
  /** Uploads per WINDOW_SECONDS. */
  perMinute: number;
  /** Uploads beyond `perMinute`, per BURST_WINDOW_SECONDS; 0: none. */
  burst: number;
}

export interface RateLimitMetrics {
  rateLimited: Counter<'limit'>;
  limiterFailOpen: Gauge;
}

/** What an upload may do, and the RateLimit headers that tell the client where it stands. */
export type RateDecision = { allowed: true; headers: Record<string, string> } | { allowed: false; problem: HttpProblem };

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured fields): the policy
 * (quota `q` per window `w` seconds) and where this client stands (`r` remaining, `t` seconds to reset).
 */
export function rateLimitHeaders(quota: UploadQuota, remaining: number, msBeforeReset: number): Record<string, string> {
  const policies = [`"${POLICY}";q=${quota.perMinute};w=${WINDOW_SECONDS}`];
  if (quota.burst > 0) policies.push(`"${BURST_POLICY}";q=${quota.burst};w=${BURST_WINDOW_SECONDS}`);
  return {
    'RateLimit-Policy': policies.join(', '),
    // What is left of the minute's quota; the burst's own count is not exposed by the library.
    RateLimit: `"${POLICY}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(msBeforeReset / 1000))}`,
  };
}

export class UploadRateLimit {
  private readonly limiter: RateLimiterRedis | BurstyRateLimiter;
  private failingOpen = false;

  constructor(
    redis: Redis,
    keyPrefix: string,
    private readonly quota: UploadQuota,
    private readonly metrics: RateLimitMetrics,
    private readonly logger: Logger,
  ) {
    // Fixed windows holding their points; rejectIfRedisNotReady answers at once while Redis is
    // down instead of queueing the command (the fail-open path below).
    const window = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}ratelimit:${name}`, points, duration, rejectIfRedisNotReady: true });
    const perMinute = window(POLICY, quota.perMinute, WINDOW_SECONDS);
    this.limiter = quota.burst > 0 ? new BurstyRateLimiter(perMinute, window(BURST_POLICY, quota.burst, BURST_WINDOW_SECONDS)) : perMinute;
  }

  async take(clientKey: string): Promise<RateDecision> {
    try {
      const res = await this.limiter.consume(clientKey, 1);
      this.recovered();
      return { allowed: true, headers: rateLimitHeaders(this.quota, res.remainingPoints, res.msBeforeNext) };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        this.recovered();
        this.metrics.rateLimited.inc({ limit: 'rate' });
        const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        const burst = this.quota.burst > 0 ? ` and its burst of ${this.quota.burst} per ${BURST_WINDOW_SECONDS} s is used up` : '';
        const problem = new HttpProblem(
          PROBLEMS.rateLimited,
          `More than ${this.quota.perMinute} uploads in ${WINDOW_SECONDS} s from this client${burst}: try again in ${retryAfterSeconds} s`,
          {
            retryAfterSeconds,
            headers: rateLimitHeaders(this.quota, 0, err.msBeforeNext),
            bodyLeftUnread: true,
          },
        );
        return { allowed: false, problem };
      }
      if (!this.failingOpen) this.logger.warn({ err: errorMessage(err) }, 'rate limiter cannot reach Redis: uploads are not limited until it is back');
      this.failingOpen = true;
      this.metrics.limiterFailOpen.set(1);
      return { allowed: true, headers: {} };
    }
  }

  private recovered(): void {
    if (!this.failingOpen) return;
    this.failingOpen = false;
    this.metrics.limiterFailOpen.set(0);
    this.logger.info('rate limiter reaches Redis again: uploads are limited');
  }
}
