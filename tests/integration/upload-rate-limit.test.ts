/**
 * The upload rate limit on the real api and real Redis: the sixth upload in a minute gets 429 with
 * Retry-After and the RateLimit headers, and nothing of it is stored; with Redis unreachable the
 * limiter fails open, and says so in a metric and a log line.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { apiEnv, loadConfig } from '../../src/shared/config.js';
import { originalKey } from '../../src/shared/content-address.js';
import { createHarness, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { reservePorts } from '../helpers/ports.js';
import { waitReady } from '../helpers/processes.js';

let h: Harness;
let limited: RunningApi;
let noRedis: RunningApi;
const noRedisLog: string[] = [];

beforeAll(async () => {
  h = await createHarness('rate-limit');
  await h.startOptimizer();
  limited = await h.startApi({ RATE_LIMIT_UPLOADS_PER_MINUTE: '5' });
  // A port nobody listens on: this api's Redis is down from the start.
  const deadRedis = `redis://127.0.0.1:${await reservePorts(1)}/0`;
  noRedis = await startApi(
    loadConfig(apiEnv, { ...h.env, PORT: '0', REDIS_URL: deadRedis, RATE_LIMIT_UPLOADS_PER_MINUTE: '1' }),
    pino({ level: 'info' }, { write: (line: string) => void noRedisLog.push(line) }),
  );
  await fetch(`${noRedis.url}/healthz`);
});
afterAll(async () => {
  await noRedis?.stop();
  await h?.cleanup();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('upload rate limit', () => {
  it('lets five uploads a minute through with RateLimit headers, and answers the sixth 429, storing nothing', async () => {
    await waitReady(limited.url);
    for (let i = 0; i < 5; i++) {
      const res = await upload(limited.url, await makeJpeg(500 + i, 64, 48));
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"uploads";q=5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"uploads";r=${4 - i};t=\\d+$`));
      await res.arrayBuffer();
    }
    const sixth = await makeJpeg(505, 64, 48);
    const res = await upload(limited.url, sixth);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('ratelimit')).toMatch(/^"uploads";r=0;t=\d+$/);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { type: string; status: number; detail: string };
    expect(problem).toMatchObject({ status: 429, type: expect.stringMatching(/\/rate-limited$/) });
    expect(problem.detail).toContain('More than 5 uploads in 60 s');
    expect(await h.store.exists(originalKey(sha256(sixth), 'jpg'))).toBe(false);
    const metrics = await (await fetch(`${limited.url}/metrics`)).text();
    expect(metrics).toMatch(/^watermark_uploads_rate_limited_total\{service="api"\} 1$/m);
    expect(metrics).toMatch(/^watermark_rate_limiter_fail_open\{service="api"\} 0$/m);
  });

  it('fails open when Redis cannot answer: uploads go on, a metric and one log line say so', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await upload(noRedis.url, await makeJpeg(510 + i, 64, 48));
      expect(res.status, `upload ${i + 1}`).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
      await res.arrayBuffer();
    }
    const metrics = await (await fetch(`${noRedis.url}/metrics`)).text();
    expect(metrics).toMatch(/^watermark_rate_limiter_fail_open\{service="api"\} 1$/m);
    expect(noRedisLog.filter((line) => line.includes('rate limiter cannot reach Redis'))).toHaveLength(1);
  });
});
