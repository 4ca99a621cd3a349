/**
 * Per-request watermarks on the real servers: options as fields and query parameters, presets
 * from a file, one original for several results, format negotiation, a 400 naming every bad
 * option, the fallback path making exactly what the api would have, and renditions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { sha256Hex } from '../../src/shared/content-address.js';
import { decodeValue, PresetsViewSchema, type WatermarkSettings } from '../../src/shared/contracts/index.js';
import { createHarness, uploadWith, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let api: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wm-options-'));
  const presets = join(dir, 'presets.yaml');
  writeFileSync(
    presets,
    [
      'presets:',
      '  locked:',
      '    description: The house mark, nothing to choose',
      '    text: HOUSE',
      '  web:',
      '    text: WEB',
      '    format: webp',
      '    allow:',
      '      text: { maxLength: 64 }',
      '      position: [northwest, southeast]',
      '      opacity: { min: 0.2 }',
      '      format: true',
      '      maxEdge: { min: 128, max: 1024 }',
      '',
    ].join('\n'),
  );
  h = await createHarness('options');
  // Every service reads the same presets, as the chart mounts one ConfigMap into each.
  h.env.PRESETS_FILE = presets;
  await h.startOptimizer();
  api = (await h.startApi({ RENDITION_SIZES: '64,128,256' })).url;
});
afterAll(async () => {
  await h?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface Raw {
  data: Buffer;
  width: number;
}

async function raw(image: Buffer): Promise<Raw> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width };
}

/** Mean absolute difference of the red channel of two same-sized images over a region. */
function meanDiff(a: Raw, b: Raw, region: { left: number; top: number; width: number; height: number }): number {
  let sum = 0;
  for (let y = region.top; y < region.top + region.height; y++) {
    for (let x = region.left; x < region.left + region.width; x++) sum += Math.abs((a.data[(y * a.width + x) * 3] ?? 0) - (b.data[(y * b.width + x) * 3] ?? 0));
  }
  return sum / (region.width * region.height);
}

const settingsOf = (res: Response): WatermarkSettings => JSON.parse(res.headers.get('x-watermark-settings') ?? 'null') as WatermarkSettings;

async function problemOf(res: Response): Promise<{ type: string; detail: string; invalidOptions?: { field: string }[] }> {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return (await res.json()) as { type: string; detail: string; invalidOptions?: { field: string }[] };
}

describe('options', () => {
  it('makes a WebP marked ACME at the top left from multipart fields, as the README’s curl does', async () => {
    const res = await uploadWith(api, await makeJpeg(1, 640, 480), { fields: { text: 'ACME', position: 'northwest', format: 'webp' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(settingsOf(res)).toMatchObject({ text: 'ACME', position: 'northwest', format: 'webp' });
    // The same image marked at the bottom right instead: only the top left corner tells them apart.
    const elsewhere = await uploadWith(api, await makeJpeg(1, 640, 480), { fields: { text: 'ACME', position: 'southeast', format: 'webp' } });
    const [northwest, southeast, plain] = await Promise.all(
      [res, elsewhere].map(async (r) => raw(Buffer.from(await r.arrayBuffer()))).concat(raw(await makeJpeg(1, 640, 480))),
    );
    const topLeft = (image: Raw): number => meanDiff(image, plain!, { left: 24, top: 24, width: 100, height: 30 });
    expect(topLeft(northwest!)).toBeGreaterThan(2 * topLeft(southeast!));
  });

  it('gives two results and keeps one original for the same bytes with two option sets', async () => {
    const image = await makeJpeg(2, 320, 240);
    const hash = sha256Hex(image);
    const acme = await uploadWith(api, image, { fields: { text: 'ACME' } });
    const other = await uploadWith(api, image, { query: { text: 'OTHER' } });
    expect([acme.status, other.status]).toEqual([200, 200]);
    expect(acme.headers.get('x-image-hash')).toBe(hash);
    expect(other.headers.get('x-image-hash')).toBe(hash);
    expect(acme.headers.get('x-result-id')).not.toBe(other.headers.get('x-result-id'));
    expect((await h.store.list(`original/${hash}`, 10)).length).toBe(1);
    for (const res of [acme, other]) expect(await h.store.exists(`watermarked/${res.headers.get('x-result-id')}.jpg`)).toBe(true);
    // The same options again: the same result, from the cache.
    const again = await uploadWith(api, image, { query: { text: 'ACME' } });
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.headers.get('x-result-id')).toBe(acme.headers.get('x-result-id'));
  });

  it('negotiates format=auto: AVIF for a client that accepts it, with Vary: Accept', async () => {
    const image = await makeJpeg(3, 320, 240);
    const avif = await uploadWith(api, image, { fields: { format: 'auto' }, headers: { Accept: 'image/avif,image/webp,*/*' } });
    expect(avif.status).toBe(200);
    expect(avif.headers.get('content-type')).toBe('image/avif');
    expect(avif.headers.get('vary')).toContain('Accept');
    const plain = await uploadWith(api, image, { fields: { format: 'auto' }, headers: { Accept: '*/*' } });
    expect(plain.headers.get('content-type')).toBe('image/jpeg');
    // A result is reused only for the same negotiated format.
    expect(plain.headers.get('x-cache')).toBe('MISS');
    expect(plain.headers.get('x-result-id')).not.toBe(avif.headers.get('x-result-id'));
  });

  it('uses a named preset and its bounds', async () => {
    const res = await uploadWith(api, await makeJpeg(4, 2000, 1000), { fields: { preset: 'web', text: 'Shop', maxEdge: '512' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(settingsOf(res)).toMatchObject({ text: 'Shop', maxEdge: 512, format: 'webp' });
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(512);
  });

  it('answers 400 naming every bad option, and stores nothing', async () => {
    const image = await makeJpeg(5, 320, 240);
    const res = await uploadWith(api, image, { fields: { preset: 'web', position: 'north', opacity: '0.1', maxEdge: '4096' }, query: { colour: 'red' } });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toMatch(/\/invalid-options$/);
    expect(problem.detail).toContain('position: expected one of northwest, southeast, received "north"');
    expect(problem.detail).toContain('opacity: expected a number from 0.2 to 1, received "0.1"');
    expect(problem.detail).toContain('maxEdge: expected a whole number from 128 to 1024, received "4096"');
    expect(problem.invalidOptions?.map((issue) => issue.field).sort()).toEqual(['colour', 'maxEdge', 'opacity', 'position']);
    const locked = await problemOf(await uploadWith(api, image, { fields: { preset: 'locked', text: 'MINE' } }));
    expect(locked.detail).toContain('text: expected no text: preset "locked" allows no override');
    expect(await h.store.list(`original/${sha256Hex(image)}`, 10)).toEqual([]);
  });

  it('answers any options, however hostile, with a 200 or a 400 that names them: never a 500', async () => {
    const image = await makeJpeg(9, 96, 64);
    const names = fc.constantFrom(
      'preset',
      'text',
      'logo',
      'position',
      'offsetX',
      'opacity',
      'scale',
      'rotate',
      'tile',
      'format',
      'quality',
      'maxEdge',
      'x[y]',
      '',
    );
    const values = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('web', 'locked', 'none', 'auto', '1e400', '-0', '0.5', '100%', '\u0000', '<svg>'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(names, values), { maxLength: 5 }), fc.boolean(), async (pairs, asQuery) => {
        const given = Object.fromEntries(pairs.filter(([name]) => name !== ''));
        const res = await uploadWith(api, image, asQuery ? { query: given } : { fields: given });
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect((await problemOf(res)).detail).toMatch(/^Invalid options: /);
        else await res.arrayBuffer();
      }),
      { numRuns: 40 },
    );
  });

  it('lists the presets with what each allows', async () => {
    const res = await fetch(`${api}/presets`);
    expect(res.status).toBe(200);
    const body: unknown = await res.json();
    const decoded = decodeValue(PresetsViewSchema, body);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value.presets.map((preset) => preset.name)).toEqual(['default', 'locked', 'web']);
    expect(decoded.value.presets[1]).toMatchObject({
      name: 'locked',
      description: 'The house mark, nothing to choose',
      settings: { text: 'HOUSE' },
      allows: {},
    });
    expect(decoded.value.presets[2]?.allows).toMatchObject({
      position: { kind: 'values', values: ['northwest', 'southeast'] },
      maxEdge: { kind: 'range', min: 128, max: 1024 },
    });
  });
});

describe('fallback path', () => {
  it('makes, with the optimizer stopped, exactly the result the api would have: format and text included', async () => {
    const image = await makeJpeg(6, 480, 320);
    const options = { preset: 'web', text: 'QUEUED', position: 'northwest', format: 'png' };
    await h.stopOptimizer();
    const res = await uploadWith(api, image, { fields: options });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { jobId: string; settings: WatermarkSettings };
    expect(accepted.settings).toMatchObject({ text: 'QUEUED', position: 'northwest', format: 'png' });
    const channel = await h.broker.createChannel();
    expect((await channel.checkQueue(RETRY_QUEUE)).messageCount).toBe(1);
    await channel.close();

    await h.startOptimizer();
    await h.startWorker();
    await waitFor(async () => ((await (await fetch(`${api}/status/${accepted.jobId}`)).json()) as { status: string }).status === 'done', {
      what: 'the job done',
    });
    const queued = await fetch(`${api}/image/${accepted.jobId}`);
    expect(queued.headers.get('content-type')).toBe('image/png');
    const fromQueue = Buffer.from(await queued.arrayBuffer());

    // The same options on the nominal path name the same result, and the bytes are the same.
    const direct = await uploadWith(api, image, { fields: options });
    expect(direct.headers.get('x-result-id')).toBe(accepted.jobId);
    expect(direct.headers.get('x-cache')).toBe('HIT');
    const form = new FormData();
    form.append('settings', JSON.stringify(accepted.settings));
    form.append('image', new Blob([image as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'photo.jpg');
    const made = await fetch(`${h.env.OPTIMIZER_URL}/optimize`, { method: 'POST', body: form });
    expect(Buffer.from(await made.arrayBuffer()).equals(fromQueue)).toBe(true);
  });
});

describe('renditions', () => {
  it('serves a smaller rendition of the result with an ETag, 304 on a match, and never larger than the result', async () => {
    const res = await uploadWith(api, await makeJpeg(7, 200, 150), { fields: { maxEdge: '200' } });
    const id = res.headers.get('x-result-id')!;
    const small = await fetch(`${api}/image/${id}?w=128&format=webp`);
    expect(small.status).toBe(200);
    expect(small.headers.get('content-type')).toBe('image/webp');
    const etag = small.headers.get('etag')!;
    expect(etag).toMatch(/w128-h0-webp/);
    expect(small.headers.get('cache-control')).toContain('immutable');
    expect((await sharp(Buffer.from(await small.arrayBuffer())).metadata()).width).toBe(128);
    expect((await fetch(`${api}/image/${id}?w=128&format=webp`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    // Kept for the next request, in the store as well as Redis.
    expect(await h.store.exists(`renditions/${id}/w128-h0-webp`)).toBe(true);
    // 256 is on the list but wider than this 200 px result: the result's own width.
    const wide = await fetch(`${api}/image/${id}?w=256`);
    expect((await sharp(Buffer.from(await wide.arrayBuffer())).metadata()).width).toBe(200);
    const negotiated = await fetch(`${api}/image/${id}?w=64&format=auto`, { headers: { Accept: 'image/avif' } });
    expect(negotiated.headers.get('content-type')).toBe('image/avif');
    expect(negotiated.headers.get('vary')).toContain('Accept');
  });

  it('answers 400 for a size off the list, naming the sizes', async () => {
    const res = await uploadWith(api, await makeJpeg(8, 200, 150));
    const problem = await problemOf(await fetch(`${api}/image/${res.headers.get('x-result-id')}?w=100`));
    expect(problem.type).toMatch(/\/bad-rendition$/);
    expect(problem.detail).toContain('w: expected one of 64, 128, 256, received "100"');
  });
});
