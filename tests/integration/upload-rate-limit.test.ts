/**
 * The upload rate limit on the real api and real Redis: the sixth upload in a minute gets 429 with
 * Retry-After and the RateLimit headers, and nothing of it is stored; a burst allowance lets a
 * client past its minute's quota, once; with Redis unreachable the limiter fails open, and says so
 * in a metric and a log line. The bound on uploads in flight per client answers 429 too.
 */
import { createHash } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
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
let bursty: RunningApi;
let twoAtOnce: RunningApi;
let behindProxy: RunningApi;
const noRedisLog: string[] = [];

beforeAll(async () => {
  h = await createHarness('rate-limit');
  await h.startOptimizer();
  limited = await h.startApi({ RATE_LIMIT_UPLOADS_PER_MINUTE: '5' });
  // Their own Redis prefixes: every api here sees the same client address, so counters must not mix.
  bursty = await h.startApi({ RATE_LIMIT_UPLOADS_PER_MINUTE: '2', RATE_LIMIT_BURST: '2', REDIS_KEY_PREFIX: `${h.redisPrefix}bursty:` });
  twoAtOnce = await h.startApi({ UPLOADS_IN_FLIGHT_PER_CLIENT: '2' });
  behindProxy = await h.startApi({ RATE_LIMIT_UPLOADS_PER_MINUTE: '1', TRUST_PROXY: 'loopback', REDIS_KEY_PREFIX: `${h.redisPrefix}proxied:` });
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
    expect(metrics).toMatch(/^watermark_uploads_rate_limited_total\{limit="rate",service="api"\} 1$/m);
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

  it('lets a client past its minute with its burst, then answers 429 naming both', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await upload(bursty.url, await makeJpeg(520 + i, 64, 48));
      expect(res.status, `upload ${i + 1}`).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"uploads";q=2;w=60, "burst";q=2;w=600');
      await res.arrayBuffer();
    }
    const res = await upload(bursty.url, await makeJpeg(524, 64, 48));
    expect(res.status).toBe(429);
    expect(((await res.json()) as { detail: string }).detail).toContain('More than 2 uploads in 60 s from this client and its burst of 2 per 600 s is used up');
  });

  it('behind a trusted proxy, limits each forwarded client apart', async () => {
    const from = (address: string) => ({ 'X-Forwarded-For': address });
    const first = await upload(behindProxy.url, await makeJpeg(540, 64, 48), 'a.jpg', 'image/jpeg', from('203.0.113.7'));
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const again = await upload(behindProxy.url, await makeJpeg(541, 64, 48), 'a.jpg', 'image/jpeg', from('203.0.113.7'));
    expect(again.status).toBe(429);
    await again.arrayBuffer();
    const other = await upload(behindProxy.url, await makeJpeg(542, 64, 48), 'a.jpg', 'image/jpeg', from('198.51.100.4'));
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });
});

/** An upload whose headers and first bytes are sent and the rest held back: in flight until `end`. */
function heldUpload(url: string): ClientRequest {
  const req = request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'content-length': String(1024 * 1024) },
  });
  req.on('error', () => undefined);
  req.write('--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n');
  return req;
}

async function inFlightGauge(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^watermark_uploads_in_flight\{service="api"\} (\d+)$/m.exec(metrics)?.[1] ?? NaN);
}

describe('uploads in flight per client', () => {
  it('answers 429 too-many-uploads to a third upload while two are in flight, and admits it once one ends', async () => {
    const held = [heldUpload(twoAtOnce.url), heldUpload(twoAtOnce.url)];
    await expect.poll(() => inFlightGauge(twoAtOnce.url)).toBe(2);
    const third = await makeJpeg(530, 64, 48);
    const refused = await upload(twoAtOnce.url, third);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { type: string }).type).toMatch(/\/too-many-uploads$/);
    expect(await h.store.exists(originalKey(sha256(third), 'jpg'))).toBe(false);
    const metrics = await (await fetch(`${twoAtOnce.url}/metrics`)).text();
    expect(metrics).toMatch(/^watermark_uploads_rate_limited_total\{limit="concurrency",service="api"\} 1$/m);

    held[0]!.destroy();
    await expect.poll(() => inFlightGauge(twoAtOnce.url)).toBe(1);
    const res = await upload(twoAtOnce.url, third);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    held[1]!.destroy();
    await expect.poll(() => inFlightGauge(twoAtOnce.url)).toBe(0);
  });
});
