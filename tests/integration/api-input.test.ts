/**
 * The api refuses bad input with a clear problem+json, keeps nothing of it, and stays healthy;
 * it answers 503 (with Retry-After, nothing accepted) when the store or the broker cannot take work.
 */
import { request, type ClientRequest } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/server.js';
import { apiEnv, loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg, makePng } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let api: string;
let slowApi: string;

beforeAll(async () => {
  h = await createHarness('api-input');
  await h.startOptimizer();
  api = (await h.startApi({ MAX_UPLOAD_BYTES: String(2 * 1024 * 1024), MAX_INPUT_PIXELS: String(40_000_000) })).url;
  slowApi = (await startApi(loadConfig(apiEnv, { ...h.env, PORT: '0', UPLOAD_IDLE_TIMEOUT_MS: '500' }), createLogger('test', 'silent'))).url;
});
afterAll(async () => h?.cleanup());

const PART_HEADER = '--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n';

/** A multipart upload written by hand (`send` writes the body), for senders fetch cannot imitate; resolves the status. */
function rawUpload(url: string, headers: Record<string, string>, send: (req: ClientRequest) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(`${url}/upload`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XYZ', ...headers } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    send(req);
  });
}

async function expectProblem(res: Response, status: number, detail?: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await res.json()) as { type: string; title: string; status: number; detail: string };
  expect(problem.status).toBe(status);
  expect(problem.type).toMatch(/^https:\/\//);
  expect(problem.title).toBeTruthy();
  if (detail) expect(problem.detail).toMatch(detail);
}

function formWith(parts: [string, Blob, string?][]): FormData {
  const form = new FormData();
  for (const [name, blob, filename] of parts) form.append(name, blob, filename);
  return form;
}

/** A valid PNG declaring width x height, with one row of pixel data behind it (a few hundred bytes). */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small real JPEG whose SOF0 header is patched to declare width x height. */
async function jpegDeclaring(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await makeJpeg(7, 64, 64));
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return jpeg;
}

const blob = (data: Buffer, type = 'image/jpeg') => new Blob([data as Uint8Array<ArrayBuffer>], { type });

describe('upload input', () => {
  it('400 without a multipart body', async () => {
    await expectProblem(await fetch(`${api}/upload`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } }), 400, /multipart/);
    await expectProblem(await fetch(`${api}/upload`, { method: 'POST' }), 400);
  });

  it('400 when the file is in the wrong field', async () => {
    await expectProblem(await fetch(`${api}/upload`, { method: 'POST', body: formWith([['file', blob(await makeJpeg(1)), 'a.jpg']]) }), 400, /"image"/);
  });

  it('400 when there is no file at all, only fields', async () => {
    const form = new FormData();
    form.set('image', 'just text');
    await expectProblem(await fetch(`${api}/upload`, { method: 'POST', body: form }), 400, /No file/);
  });

  it('400 for several files', async () => {
    const jpeg = blob(await makeJpeg(2));
    await expectProblem(
      await fetch(`${api}/upload`, {
        method: 'POST',
        body: formWith([
          ['image', jpeg, 'a.jpg'],
          ['image', jpeg, 'b.jpg'],
        ]),
      }),
      400,
      /exactly one/,
    );
  });

  it('400 for an empty (0-byte) file', async () => {
    await expectProblem(await upload(api, Buffer.alloc(0)), 400, /empty/);
  });

  it('415 for text named .jpg, and for SVG', async () => {
    await expectProblem(await upload(api, Buffer.from('this is not an image at all'), 'photo.jpg'), 415);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="http://127.0.0.1:1/x"/></svg>');
    await expectProblem(await upload(api, svg, 'x.svg', 'image/svg+xml'), 415);
  });

  it('422 for a corrupt PNG', async () => {
    const png = await makePng(3);
    const corrupt = Buffer.concat([png.subarray(0, 16), Buffer.alloc(64, 0xff)]);
    await expectProblem(await upload(api, corrupt, 'c.png', 'image/png'), 422);
  });

  it('422 for a truncated JPEG, and its original is not kept', async () => {
    const jpeg = await makeJpeg(4, 800, 600);
    const res = await upload(api, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
    await expectProblem(res, 422);
    expect(await h.store.list('original/', 100)).toHaveLength(0);
  });

  it('422 for a PNG pixel bomb declaring 30000x30000 pixels', async () => {
    await expectProblem(await upload(api, pngDeclaring(30_000, 30_000), 'bomb.png', 'image/png'), 422, /pixels/);
  });

  it('422 for a JPEG pixel bomb declaring 30000x30000 pixels', async () => {
    await expectProblem(await upload(api, await jpegDeclaring(30_000, 30_000)), 422, /pixels/);
  });

  it('413 for an upload over the limit, without reading all of it', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    await expectProblem(await upload(api, big), 413, /limit/);
  });

  it('413 while streaming when the size is not declared up front', async () => {
    const status = await rawUpload(api, { 'transfer-encoding': 'chunked' }, (req) => {
      req.write(PART_HEADER);
      const chunk = Buffer.alloc(256 * 1024, 7);
      let sent = 0;
      const pump = () => {
        // Stops by itself: at most 16 MB, far less once the server has answered.
        while (sent < 16 * 1024 * 1024 && req.write(chunk)) sent += chunk.length;
        if (sent < 16 * 1024 * 1024 && !req.destroyed) req.once('drain', pump);
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('never lets a ../, unicode or very long filename reach a key or a header', async () => {
    for (const [i, name] of ['../../etc/passwd.jpg', 'été \u202e🌞.jpg', `${'x'.repeat(5_000)}.jpg`].entries()) {
      const res = await upload(api, await makeJpeg(50 + i), name);
      expect(res.status).toBe(200);
    }
    const keys = await h.store.list('original/', 100);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(keys.every((k) => /^original\/[0-9a-f]{64}\.jpg$/.test(k))).toBe(true);
  });

  it('400 for control characters in the filename (a malformed part header)', async () => {
    await expectProblem(await upload(api, await makeJpeg(5), 'pass\u0007wd\r\nX-Evil: 1.jpg'), 400, /part header/);
  });

  it('watermarks the first frame of an animated GIF (documented choice)', async () => {
    const sharp = (await import('sharp')).default;
    const frames = await Promise.all(
      [0, 1, 2].map((i) =>
        sharp({ create: { width: 64, height: 48, channels: 3, background: { r: i * 100, g: 50, b: 200 } } })
          .raw()
          .toBuffer(),
      ),
    );
    // A real 3-page animation: sharp reads a tall strip as pages when given pageHeight.
    const animated = await sharp(Buffer.concat(frames), { raw: { width: 64, height: 48 * 3, channels: 3, pageHeight: 48 } })
      .gif()
      .toBuffer();
    expect((await sharp(animated, { animated: true }).metadata()).pages).toBe(3);
    const res = await upload(api, animated, 'anim.gif', 'image/gif');
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta.height).toBe(48);
    expect(meta.pages ?? 1).toBe(1);
  });

  it('408 for a sender that stalls mid-upload, and the server keeps serving others meanwhile', async () => {
    const stalled = Array.from({ length: 20 }, () =>
      // The start of a JPEG, and then nothing more.
      rawUpload(slowApi, { 'content-length': '100000' }, (req) => req.write(`${PART_HEADER}\xff\xd8`)),
    );
    expect((await upload(slowApi, await makeJpeg(60))).status).toBe(200);
    expect(await Promise.all(stalled)).toEqual(Array(20).fill(408));
  });

  it('answers 100 concurrent uploads and status reads, each properly (the optimizer sheds load to the queue)', async () => {
    const images = await Promise.all(Array.from({ length: 25 }, (_, i) => makeJpeg(70 + i, 96, 64)));
    const results = await Promise.all([
      ...images.map((img) => upload(api, img).then((r) => r.status)),
      ...images.map((img) => upload(api, img).then((r) => r.status)),
      ...Array.from({ length: 25 }, () => fetch(`${api}/status/${'1'.repeat(64)}`).then((r) => r.status)),
      ...Array.from({ length: 25 }, () => fetch(`${api}/healthz`).then((r) => r.status)),
    ]);
    // 200 when the optimizer took it, 202 when it shed the load (503) and the job was queued.
    expect(results.slice(0, 50).every((s) => s === 200 || s === 202)).toBe(true);
    expect(results.slice(50, 75).every((s) => s === 404)).toBe(true);
    expect(results.slice(75).every((s) => s === 200)).toBe(true);
  });

  it('stays healthy after all of that, with nothing half-written', async () => {
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    let seed = 600;
    await waitFor(async () => (await upload(api, await makeJpeg(seed++))).status === 200, { what: 'the circuit closed again', intervalMs: 250 });
    // Jobs the optimizer shed to the queue are finished by a worker.
    await h.startWorker();
    const channel = await h.broker.createChannel();
    await waitFor(async () => (await channel.checkQueue('watermark_retry')).messageCount === 0, { what: 'the queue drained' });
    await waitFor(
      async () => {
        const keys = await h.redis.keys(`${h.redisPrefix}job:*`);
        const statuses = await Promise.all(keys.map((k) => h.redis.hget(k, 'status')));
        return statuses.every((s) => s === 'done');
      },
      { what: 'every job done' },
    );
    // Every original kept has its result: no rejected upload left an original, a job or a pending state.
    const originals = await h.store.list('original/', 1000);
    // A result names its original in its metadata (its own id is the original's hash with the settings).
    const resultKeys = await h.store.list('watermarked/', 1000);
    const made = new Set(await Promise.all(resultKeys.map(async (key) => (await h.store.findFirst([key]))?.metaData.original)));
    expect(originals.filter((k) => !made.has(k.split('/')[1]!.split('.')[0]))).toEqual([]);
    await channel.close();
  });
});

describe('hash parameters', () => {
  it.each(['..%2Fx', 'A'.repeat(64), 'a'.repeat(63), 'z'.repeat(64)])('400 for %s', async (hash) => {
    await expectProblem(await fetch(`${api}/status/${hash}`), 400, /64 lowercase/);
    await expectProblem(await fetch(`${api}/image/${hash}`), 400);
    await expectProblem(await fetch(`${api}/events/${hash}`), 400);
  });

  it('404 for an unknown hash', async () => {
    await expectProblem(await fetch(`${api}/status/${'0'.repeat(64)}`), 404);
    await expectProblem(await fetch(`${api}/image/${'0'.repeat(64)}`), 404);
    await expectProblem(await fetch(`${api}/events/${'0'.repeat(64)}`), 404);
  });
});

describe('nothing accepted, nothing lost', () => {
  async function isolatedApi(overrides: Record<string, string>) {
    return startApi(loadConfig(apiEnv, { ...h.env, PORT: '0', ...overrides }), createLogger('test', 'silent'));
  }

  it('503 with Retry-After when the object store cannot take the original', async () => {
    const isolated = await isolatedApi({ S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    try {
      const res = await upload(isolated.url, await makeJpeg(20));
      await expectProblem(res, 503, /object store/);
      expect(res.headers.get('retry-after')).toBe('5');
    } finally {
      await isolated.stop();
    }
  });

  it('503 with Retry-After when the optimizer is down and the broker cannot confirm; the original is removed', async () => {
    const isolated = await isolatedApi({
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}/`,
      OPTIMIZER_URL: `http://127.0.0.1:${await freePort()}`,
    });
    try {
      const before = await h.store.list('original/', 100);
      const res = await upload(isolated.url, await makeJpeg(21));
      await expectProblem(res, 503, /queue/);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await h.store.list('original/', 100)).toEqual(before);
      expect((await fetch(`${isolated.url}/readyz`)).status).toBe(503);
    } finally {
      await isolated.stop();
    }
  });
});
