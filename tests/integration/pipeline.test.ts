/**
 * The Option B pipeline on real RabbitMQ, Redis and s3rver: nominal path, cache hit, fallback to
 * the queue while the optimizer is down, and the worker finishing the job once it is back.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { sha256Hex } from '../../src/shared/content-address.js';
import { createHarness, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let api: string;

beforeAll(async () => {
  h = await createHarness('pipeline');
  await h.startOptimizer();
  api = (await h.startApi()).url;
});
afterAll(async () => h?.cleanup());

async function queueDepth(): Promise<number> {
  const channel = await h.broker.createChannel();
  try {
    return (await channel.checkQueue(RETRY_QUEUE)).messageCount;
  } finally {
    await channel.close();
  }
}

describe('nominal path', () => {
  it('answers 200 with the watermarked image, stores original and result, and caches it', async () => {
    const image = await makeJpeg(1, 2400, 1600);
    const res = await upload(api, image);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('x-cache')).toBe('MISS');
    const hash = res.headers.get('x-image-hash')!;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const id = res.headers.get('x-result-id')!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).not.toBe(hash);
    expect(JSON.parse(res.headers.get('x-watermark-settings')!)).toMatchObject({ text: 'NWS', position: 'southeast', format: 'auto' });

    const body = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(body).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width, meta.height)).toBe(2048);

    // The original is kept byte for byte, under the SHA-256 that was also signed as its payload hash.
    const original = await h.store.get(`original/${hash}.jpg`);
    expect(original.equals(image)).toBe(true);
    expect(sha256Hex(original)).toBe(hash);
    expect(await h.store.exists(`watermarked/${id}.jpg`)).toBe(true);
    expect(await h.redis.ttl(`${h.redisPrefix}result:${id}`)).toBeGreaterThan(86_000);

    const status = await fetch(`${api}/status/${id}`).then((r) => r.json());
    expect(status).toMatchObject({ status: 'done', url: `/image/${id}` });
  });

  it('answers the same bytes again from the cache (200, X-Cache: HIT) with the same image', async () => {
    const image = await makeJpeg(2);
    const first = await upload(api, image);
    const firstBody = Buffer.from(await first.arrayBuffer());
    const second = await upload(api, image);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(Buffer.from(await second.arrayBuffer()).equals(firstBody)).toBe(true);
  });

  it('serves /image/{id} with an ETag and immutable caching, and 304 on a matching If-None-Match', async () => {
    const res = await upload(api, await makeJpeg(3));
    const id = res.headers.get('x-result-id')!;
    const image = await fetch(`${api}/image/${id}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('cache-control')).toContain('immutable');
    const etag = image.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await fetch(`${api}/image/${id}`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
  });

  it('still answers status and image from the object store after Redis lost everything', async () => {
    const res = await upload(api, await makeJpeg(4));
    const id = res.headers.get('x-result-id')!;
    const keys = await h.redis.keys(`${h.redisPrefix}*`);
    await h.redis.del(...keys);
    expect(await fetch(`${api}/status/${id}`).then((r) => r.json())).toMatchObject({ status: 'done' });
    const image = await fetch(`${api}/image/${id}`);
    expect(image.status).toBe(200);
    // Re-warmed: the cache answers the next upload of the same bytes.
    const again = await upload(api, await makeJpeg(4));
    expect(again.headers.get('x-cache')).toBe('HIT');
  });
});

describe('fallback path', () => {
  it('queues a persistent job when the optimizer is down (202), and the worker finishes it when it is back', async () => {
    await h.stopOptimizer();
    const image = await makeJpeg(10);
    const res = await upload(api, image);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { jobId: string; imageHash: string; status: string; statusUrl: string };
    expect(body).toMatchObject({ status: 'pending', statusUrl: `/status/${body.jobId}`, imageHash: sha256Hex(image), settings: { text: 'NWS' } });
    expect(body.jobId).toBe(res.headers.get('x-result-id'));

    // The message sits on the durable queue, persistent, with message_id = the result id.
    const channel = await h.broker.createChannel();
    const queue = await channel.checkQueue(RETRY_QUEUE);
    expect(queue.messageCount).toBe(1);
    const message = await channel.get(RETRY_QUEUE, { noAck: false });
    expect(message).not.toBe(false);
    if (message) {
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.messageId).toBe(body.jobId);
      expect(message.properties.contentType).toBe('application/json');
      expect(JSON.parse(message.content.toString())).toMatchObject({
        hash: body.imageHash,
        result_id: body.jobId,
        settings: { text: 'NWS', format: 'auto' },
        original_key: `original/${body.imageHash}.jpg`,
        filename: 'photo.jpg',
      });
      channel.nack(message, false, true);
    }
    await channel.close();

    // The same bytes while pending: the same 202, no second job.
    const again = await upload(api, image);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { jobId: string }).jobId).toBe(body.jobId);
    expect(await queueDepth()).toBe(1);
    expect(await fetch(`${api}${body.statusUrl}`).then((r) => r.json())).toMatchObject({ status: 'pending' });

    const worker = await h.startWorker();
    await waitFor(() => worker.consumer.pausedFor === 'optimizer', { what: 'worker to pause for the optimizer' });
    await h.startOptimizer();
    const status = await waitFor(
      async () => {
        const s = (await fetch(`${api}${body.statusUrl}`).then((r) => r.json())) as { status: string; url?: string };
        return s.status === 'done' ? s : undefined;
      },
      { what: 'job done' },
    );
    const result = await fetch(`${api}${status.url}`);
    expect(result.status).toBe(200);
    const meta = await sharp(Buffer.from(await result.arrayBuffer())).metadata();
    expect(meta.format).toBe('jpeg');
    expect(await queueDepth()).toBe(0);
    // The worker keeps the result in Redis under the id the api gave out.
    expect(await h.redis.exists(`${h.redisPrefix}result:${body.jobId}`)).toBe(1);
  });
});
