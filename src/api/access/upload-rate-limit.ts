/**
 * Uploads per client per minute, counted in Redis by rate-limiter-flexible, so the limit holds
 * across api replicas. Each upload costs a fraction of a CPU-second of optimizer work: an open
 * endpoint without this is a denial of service waiting to happen. When Redis cannot answer, the
 * limiter fails open (the upload goes on) and says so, because availability is the product's
 * promise and a limiter must not become its single point of failure.
 */
import type { Redis } from 'ioredis';
import type { Counter, Gauge } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PROBLEMS } from '../../shared/contracts/problems.js';
import { errorMessage } from '../../shared/errors.js';
import { HttpProblem } from '../../shared/http/problem.js';
import type { Logger } from '../../shared/logger.js';

const WINDOW_SECONDS = 60;
/** The policy's name in the RateLimit headers. */
const POLICY = 'uploads';

export interface RateLimitMetrics {
  rateLimited: Counter;
  limiterFailOpen: Gauge;
}

/** What an upload may do, and the RateLimit headers that tell the client where it stands. */
export type RateDecision = { allowed: true; headers: Record<string, string> } | { allowed: false; problem: HttpProblem };

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured fields): the policy
 * (quota `q` per window `w` seconds) and where this client stands (`r` remaining, `t` seconds to reset).
 */
export function rateLimitHeaders(quota: number, remaining: number, msBeforeReset: number): Record<string, string> {
  return {
    'RateLimit-Policy': `"${POLICY}";q=${quota};w=${WINDOW_SECONDS}`,
    RateLimit: `"${POLICY}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(msBeforeReset / 1000))}`,
  };
}

export class UploadRateLimit {
  private readonly limiter: RateLimiterRedis;
  private failingOpen = false;

  constructor(
    redis: Redis,
    keyPrefix: string,
    private readonly quota: number,
    private readonly metrics: RateLimitMetrics,
    private readonly logger: Logger,
  ) {
    // A fixed window of WINDOW_SECONDS holding `quota` points; rejectIfRedisNotReady answers at
    // once while Redis is down instead of queueing the command (the fail-open path below).
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}ratelimit:uploads`,
      points: quota,
      duration: WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
    });
  }

  async take(clientKey: string): Promise<RateDecision> {
    try {
      const res = await this.limiter.consume(clientKey, 1);
      this.recovered();
      return { allowed: true, headers: rateLimitHeaders(this.quota, res.remainingPoints, res.msBeforeNext) };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        this.recovered();
        this.metrics.rateLimited.inc();
        const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        const problem = new HttpProblem(
          PROBLEMS.rateLimited,
          `More than ${this.quota} uploads in ${WINDOW_SECONDS} s from this client: try again in ${retryAfterSeconds} s`,
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
