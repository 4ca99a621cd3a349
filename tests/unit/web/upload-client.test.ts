import { describe, expect, it } from 'vitest';
import { fetchImage, parseRetryAfter, readProblem, uploadImage } from '../../../src/web/src/upload-client.js';
import { fakeFetch, image, json, problem, watermarkSettings } from './fakes.js';

const HASH = 'a'.repeat(64);
const RESULT_ID = 'e'.repeat(64);

describe('uploadImage', () => {
  it('posts the file as the multipart field "image" with its name', async () => {
    const { fetch, calls } = fakeFetch(() => image([1, 2, 3], { 'X-Cache': 'MISS', 'X-Image-Hash': HASH }));
    await uploadImage(new Blob([new Uint8Array([9, 9])], { type: 'image/png' }), 'cat.png', { fetch });

    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('/upload');
    expect(calls[0]?.init?.method).toBe('POST');
    const body = calls[0]?.init?.body;
    expect(body).toBeInstanceOf(FormData);
    const part = (body as FormData).get('image');
    expect(part).toBeInstanceOf(File);
    expect((part as File).name).toBe('cat.png');
    expect((part as File).size).toBe(2);
  });

  it('returns the image with its hash and cache outcome on 200', async () => {
    const { fetch } = fakeFetch(() => image([1, 2, 3], { 'X-Cache': 'HIT', 'X-Image-Hash': HASH }));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome.kind).toBe('image');
    if (outcome.kind !== 'image') return;
    expect(outcome.cache).toBe('HIT');
    expect(outcome.hash).toBe(HASH);
    expect(outcome.contentType).toBe('image/webp');
    expect(outcome.blob.size).toBe(3);
  });

  it('ignores a malformed hash header and an unknown cache value', async () => {
    const { fetch } = fakeFetch(() => image([1], { 'X-Cache': 'maybe', 'X-Image-Hash': 'not-a-hash' }));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toMatchObject({ kind: 'image', hash: null, cache: null });
  });

  it('sends the options as text fields before the file', async () => {
    const { fetch, calls } = fakeFetch(() => image([1]));
    await uploadImage(new Blob(['x']), 'a.jpg', {
      fetch,
      fields: [
        ['preset', 'web'],
        ['text', 'Café'],
      ],
    });

    const form = calls[0]?.init?.body as FormData;
    expect([...form.entries()].map(([name, value]) => [name, typeof value === 'string' ? value : 'file'])).toEqual([
      ['preset', 'web'],
      ['text', 'Café'],
      ['image', 'file'],
    ]);
  });

  it('reads the result id and the effective settings of a 200, apart from the hash of the bytes', async () => {
    const settings = watermarkSettings({ text: 'Café ☕', position: 'northwest' });
    const header = JSON.stringify(settings).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const { fetch } = fakeFetch(() => image([1], { 'X-Image-Hash': HASH, 'X-Result-Id': RESULT_ID, 'X-Watermark-Settings': header }));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toMatchObject({ kind: 'image', hash: HASH, resultId: RESULT_ID, settings });
  });

  it('returns the job to follow on 202, with the hash of the bytes and the settings it applies', async () => {
    const settings = watermarkSettings({ format: 'webp' });
    const { fetch } = fakeFetch(() => json({ jobId: RESULT_ID, imageHash: HASH, status: 'pending', statusUrl: `/status/${RESULT_ID}`, settings }, 202));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toEqual({ kind: 'queued', jobId: RESULT_ID, imageHash: HASH, statusUrl: `/status/${RESULT_ID}`, settings });
  });

  it('derives the status url when a 202 omits it', async () => {
    const { fetch } = fakeFetch(() => json({ jobId: HASH, status: 'pending' }, 202));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toEqual({ kind: 'queued', jobId: HASH, imageHash: null, statusUrl: `/status/${HASH}`, settings: null });
  });

  it('keeps the invalid options a 400 lists', async () => {
    const invalidOptions = [{ field: 'text', expected: 'a text of at most 64 characters (got 70)', received: '"xxxx…"' }];
    const { fetch } = fakeFetch(() =>
      json(
        {
          type: 'https://nws-watermark.dev/problems/invalid-options',
          title: 'Bad Request',
          status: 400,
          detail: 'Invalid options: text: expected a text of at most 64 characters (got 70), received "xxxx…"',
          invalidOptions: [...invalidOptions, { field: 42 }],
        },
        400,
        { 'Content-Type': 'application/problem+json' },
      ),
    );
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toMatchObject({ kind: 'problem', problem: { status: 400, invalidOptions } });
  });

  it('reports a 202 without a job id as a problem instead of following nothing', async () => {
    const { fetch } = fakeFetch(() => json({ status: 'pending' }, 202));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome.kind).toBe('problem');
  });

  it('passes a problem+json response through with its title and detail', async () => {
    const { fetch } = fakeFetch(() => problem(415, 'Unsupported Media Type', 'Expected an image but received text/plain'));
    const outcome = await uploadImage(new Blob(['x']), 'a.txt', { fetch });

    expect(outcome).toEqual({
      kind: 'problem',
      problem: {
        type: 'https://nws-watermark.dev/problems/x',
        title: 'Unsupported Media Type',
        status: 415,
        detail: 'Expected an image but received text/plain',
      },
    });
  });

  it('reads Retry-After on a 503', async () => {
    const { fetch } = fakeFetch(() => problem(503, 'Service Unavailable', 'Object store down', { 'Retry-After': '7' }));
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome.kind === 'problem' && outcome.problem.retryAfterSeconds).toBe(7);
  });

  it('turns an error page that is not problem+json into a readable problem', async () => {
    const { fetch } = fakeFetch(
      () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'text/html' } }),
    );
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', { fetch });

    expect(outcome).toMatchObject({ kind: 'problem', problem: { title: 'Bad Gateway', status: 502 } });
    expect(outcome.kind === 'problem' && outcome.problem.detail).toContain('502');
  });

  it('reports an unreachable server as a problem with status 0', async () => {
    const outcome = await uploadImage(new Blob(['x']), 'a.jpg', {
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });

    expect(outcome).toMatchObject({ kind: 'problem', problem: { title: 'Network error', status: 0 } });
  });

  it('rejects with the AbortError when the upload is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { fetch } = fakeFetch(() => image([1]));

    await expect(uploadImage(new Blob(['x']), 'a.jpg', { fetch, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('fetchImage', () => {
  it('returns the bytes of a finished job', async () => {
    const { fetch, calls } = fakeFetch(() => image([4, 5]));
    const outcome = await fetchImage(`/image/${HASH}`, { fetch });

    expect(calls[0]?.url).toBe(`/image/${HASH}`);
    expect(outcome).toMatchObject({ kind: 'image', contentType: 'image/webp' });
  });

  it('returns a problem when the image is gone', async () => {
    const { fetch } = fakeFetch(() => problem(404, 'Not Found', 'No image for this hash'));
    const outcome = await fetchImage(`/image/${HASH}`, { fetch });

    expect(outcome).toMatchObject({ kind: 'problem', problem: { status: 404, detail: 'No image for this hash' } });
  });
});

describe('readProblem and parseRetryAfter', () => {
  it('falls back to a generic title when a problem has none', async () => {
    const result = await readProblem(new Response('', { status: 500 }));

    expect(result.title).toBe('Server error');
    expect(result.detail).toContain('500');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('12', now)).toBe(12);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
