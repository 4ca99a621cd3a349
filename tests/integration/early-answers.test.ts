/**
 * Early answers reach clients that send their whole body before they read: Node's own fetch
 * (undici) sends no `Expect: 100-continue`, so the api answers 413, 401, 429 or 400 while the body
 * is still arriving. The api reads on and discards the rest within bounds (a lingering close), so
 * the answer is read instead of an EPIPE or ECONNRESET. Nothing of a refused upload is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { remoteUpload } from '../helpers/remote-fetch.js';

const MB = 1024 * 1024;

let h: Harness;
let open: string;
let keyed: string;
let limited: string;

beforeAll(async () => {
  h = await createHarness('early-answers');
  await h.startOptimizer();
  // The default upload limit (25 MB): a 60 MB body is refused from its Content-Length.
  open = (await h.startApi()).url;
  keyed = (await h.startApi({ API_KEYS: 'k1' })).url;
  limited = (await h.startApi({ RATE_LIMIT_UPLOADS_PER_MINUTE: '1', REDIS_KEY_PREFIX: `${h.redisPrefix}limited:` })).url;
});
afterAll(async () => h?.cleanup());

/** A multipart form whose image is `bytes` long: a JPEG's first bytes, then filler. */
function bigForm(bytes: number): FormData {
  const body = Buffer.alloc(bytes, 0x5a);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(body);
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(body)], { type: 'image/jpeg' }), 'big.jpg');
  return form;
}

/** The same upload as a chunked body (no Content-Length): the limit is crossed mid-stream. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const head = Buffer.from(
    '--XYZ\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0',
    'latin1',
  );
  const chunk = new Uint8Array(256 * 1024).fill(0x5a);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) controller.enqueue(head);
      if (sent >= bytes) {
        controller.enqueue(Buffer.from('\r\n--XYZ--\r\n'));
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

async function problemOf(res: Response): Promise<{ status: number; type: string; detail: string; maxBytes?: number }> {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return (await res.json()) as { status: number; type: string; detail: string; maxBytes?: number };
}

describe('an early answer on a body still arriving', () => {
  it('a 60 MB upload through fetch in another process reads its 413, every time, and the api stores nothing', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const outcome = await remoteUpload({ url: `${open}/upload`, fileBytes: 60 * MB });
      expect(outcome).toMatchObject({ kind: 'answer', status: 413 });
      if (outcome.kind !== 'answer') continue;
      expect(outcome.headers['content-type']).toContain('application/problem+json');
      const problem = JSON.parse(outcome.body) as { status: number; maxBytes: number; detail: string };
      expect(problem).toMatchObject({ status: 413, maxBytes: 25 * MB });
      expect(problem.detail).toMatch(/exceeds the limit/);
    }
    expect(await h.store.list('original/', 100)).toHaveLength(0);
  });

  it('so does one in this process', async () => {
    const res = await fetch(`${open}/upload`, { method: 'POST', body: bigForm(60 * MB) });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).maxBytes).toBe(25 * MB);
  });

  it('a chunked upload that crosses the limit mid-stream reads its 413', async () => {
    const res = await fetch(`${open}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
      body: chunkedBody(40 * MB),
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).maxBytes).toBe(25 * MB);
  });

  it('an upload without its key reads its 401, with the challenge', async () => {
    const outcome = await remoteUpload({ url: `${keyed}/upload`, fileBytes: 20 * MB });
    expect(outcome).toMatchObject({ kind: 'answer', status: 401 });
    if (outcome.kind !== 'answer') return;
    expect(outcome.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(JSON.parse(outcome.body)).toMatchObject({ status: 401 });
  });

  it('an upload over its rate reads its 429, with Retry-After', async () => {
    const image = await makeJpeg(801, 64, 48);
    const first = new FormData();
    first.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'a.jpg');
    expect((await fetch(`${limited}/upload`, { method: 'POST', body: first })).status).toBe(200);
    const outcome = await remoteUpload({ url: `${limited}/upload`, fileBytes: 20 * MB });
    expect(outcome).toMatchObject({ kind: 'answer', status: 429 });
    if (outcome.kind !== 'answer') return;
    expect(Number(outcome.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(outcome.body)).toMatchObject({ status: 429 });
  });

  it('a large body that is not multipart reads its 400', async () => {
    const outcome = await remoteUpload({ url: `${open}/upload`, headers: { 'content-type': 'application/octet-stream' }, rawBytes: 20 * MB });
    expect(outcome).toMatchObject({ kind: 'answer', status: 400 });
    if (outcome.kind !== 'answer') return;
    expect(JSON.parse(outcome.body)).toMatchObject({ status: 400 });
  });

  it('keeps serving: a normal upload after the refusals gets its 200', async () => {
    const image = await makeJpeg(802, 64, 48);
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'a.jpg');
    expect((await fetch(`${open}/upload`, { method: 'POST', body: form })).status).toBe(200);
  });
});
