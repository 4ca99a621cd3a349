/**
 * The optimizer over real HTTP on a free port: the /optimize contract (200, 400, 413, 422, 503),
 * /settings, /metrics, the probes, and the CLI entry's clean stop.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOptimizer, type RunningOptimizer } from '../../../src/optimizer/server.js';
import { loadConfig, optimizerEnv } from '../../../src/shared/config.js';
import { decodeValue, OptimizerSettingsSchema } from '../../../src/shared/contracts/index.js';
import { createLogger } from '../../../src/shared/logger.js';
import { PIPELINE_VERSION } from '../../../src/shared/watermark/identity.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';
import { spawnComponent } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { alphaPng, gradientJpeg } from '../../unit/optimizer/fixtures.js';

const MAX_UPLOAD_BYTES = 1_000_000;
const logger = createLogger('optimizer-test', 'silent');
const started: RunningOptimizer[] = [];

let optimizer: RunningOptimizer;
let photo: Buffer;

async function start(env: Record<string, string> = {}): Promise<RunningOptimizer> {
  const config = loadConfig(optimizerEnv, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_MS: '1000', ...env });
  const running = await startOptimizer(config, logger);
  started.push(running);
  return running;
}

function imageForm(data: Buffer, { field = 'image', type = 'image/jpeg', filename = 'photo.jpg' } = {}): FormData {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(data)], { type }), filename);
  return form;
}

function post(base: RunningOptimizer, body: FormData | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base.url}/optimize`, { method: 'POST', body, headers });
}

async function expectProblem(res: Response, status: number, detail?: RegExp): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await res.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String) });
  if (detail) expect(problem.detail).toMatch(detail);
  return problem;
}

beforeAll(async () => {
  photo = await gradientJpeg(1200, 800);
  optimizer = await start({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), RESIZE_MAX_EDGE: '800', WATERMARK_TEXT: 'NWS test' });
});
afterAll(async () => {
  await Promise.all(started.map((running) => running.stop()));
});

describe('POST /optimize', () => {
  it('answers 200 with the watermarked JPEG, its size and the pipeline version', async () => {
    const res = await post(optimizer, imageForm(photo));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('x-pipeline-version')).toBe(PIPELINE_VERSION);
    const data = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(data).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'jpeg', width: 800, height: 533 });
    expect(res.headers.get('x-image-width')).toBe('800');
    expect(res.headers.get('x-image-height')).toBe('533');
  });

  it('answers a PNG for a transparent input', async () => {
    const res = await post(optimizer, imageForm(await alphaPng(200, 150), { type: 'image/png', filename: 'a.png' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).hasAlpha).toBe(true);
  });

  it('ignores extra text fields next to the image', async () => {
    const form = imageForm(photo);
    form.append('note', 'hello');
    expect((await post(optimizer, form)).status).toBe(200);
  });

  it('answers 400 to a body that is not multipart', async () => {
    await expectProblem(await post(optimizer, '{"image":"x"}', { 'content-type': 'application/json' }), 400, /multipart/);
  });

  it('answers 400 when the file is in another field', async () => {
    await expectProblem(await post(optimizer, imageForm(photo, { field: 'file' })), 400, /field "image"/);
  });

  it('answers 400 when there is no file at all', async () => {
    const form = new FormData();
    form.append('note', 'no image here');
    await expectProblem(await post(optimizer, form), 400, /No file/);
  });

  it('answers 400 when "image" is a text value', async () => {
    const form = new FormData();
    form.append('image', 'not a file');
    await expectProblem(await post(optimizer, form), 400, /must be a file/);
  });

  it('answers 400 to two files', async () => {
    const form = imageForm(photo);
    form.append('image', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'second.jpg');
    await expectProblem(await post(optimizer, form), 400, /one file/);
  });

  it('answers 413 past MAX_UPLOAD_BYTES, and keeps serving', async () => {
    const tooBig = Buffer.concat([photo.subarray(0, 4), randomBytes(MAX_UPLOAD_BYTES + 500_000)]);
    await expectProblem(await post(optimizer, imageForm(tooBig)), 413, /limit/);
    expect((await post(optimizer, imageForm(photo))).status).toBe(200);
  });

  it('answers 422 to bytes that are not an image', async () => {
    const problem = await expectProblem(await post(optimizer, imageForm(randomBytes(5_000))), 422);
    expect(problem.type).toMatch(/undecodable$/);
  });

  it('answers 422 to a truncated JPEG', async () => {
    await expectProblem(await post(optimizer, imageForm(photo.subarray(0, photo.length >> 1))), 422, /truncated or corrupt/);
  });

  it('answers 503 with Retry-After when saturated, and serves again afterwards', async () => {
    // AVIF keeps each image busy long enough for the parallel requests to find the gate full.
    const busy = await start({ OPTIMIZER_CONCURRENCY: '1', OPTIMIZER_MAX_WAITING: '0', OUTPUT_FORMAT: 'avif', RESIZE_MAX_EDGE: '1024' });
    const big = await gradientJpeg(2400, 1600);
    const responses = await Promise.all(Array.from({ length: 6 }, () => post(busy, imageForm(big))));
    const statuses = responses.map((res) => res.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    for (const res of responses) {
      if (res.status === 503) {
        expect(res.headers.get('retry-after')).toBe('1');
        await expectProblem(res, 503, /saturated/);
      } else {
        expect(res.headers.get('content-type')).toBe('image/avif');
        await res.arrayBuffer();
      }
    }
    expect((await post(busy, imageForm(photo))).status).toBe(200);
  });
});

describe('POST /optimize with settings', () => {
  const withSettings = (settings: unknown): FormData => {
    const form = imageForm(photo);
    form.append('settings', JSON.stringify(settings));
    return form;
  };

  it('draws with the settings the request carries: format, size and mark', async () => {
    const res = await post(optimizer, withSettings({ ...DEFAULT_SETTINGS, text: 'ACME', position: 'northwest', format: 'webp', maxEdge: 400 }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect({ format: meta.format, width: meta.width }).toEqual({ format: 'webp', width: 400 });
  });

  it('refuses settings that do not hold with a 400 naming the field', async () => {
    const res = await post(optimizer, withSettings({ ...DEFAULT_SETTINGS, opacity: 7 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain('opacity must be at most 1 (received 7)');
  });

  it('answers 503, to be retried, for a logo it does not hold', async () => {
    const res = await post(optimizer, withSettings({ ...DEFAULT_SETTINGS, logo: { name: 'acme', sha256: 'a'.repeat(64) } }));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain('This optimizer has no logo "acme"');
  });
});

describe('GET /settings', () => {
  it('answers the settings contract', async () => {
    const body: unknown = await (await fetch(`${optimizer.url}/settings`)).json();
    expect(decodeValue(OptimizerSettingsSchema, body)).toEqual({ ok: true, value: body });
  });

  it('describes its default, its logos and its pipeline version', async () => {
    const res = await fetch(`${optimizer.url}/settings`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      pipelineVersion: PIPELINE_VERSION,
      default: { ...DEFAULT_SETTINGS, text: 'NWS test', maxEdge: 800 },
      logos: [],
    });
    expect(optimizer.defaultSettings).toEqual({ ...DEFAULT_SETTINGS, text: 'NWS test', maxEdge: 800 });
  });
});

describe('GET /metrics', () => {
  it('exposes the optimize duration by format and the request duration by route', async () => {
    expect((await post(optimizer, imageForm(photo))).status).toBe(200);
    const text = await (await fetch(`${optimizer.url}/metrics`)).text();
    expect(text).toMatch(/^watermark_optimize_duration_seconds_count\{[^}]*format="jpeg"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^watermark_http_request_duration_seconds_count\{[^}]*route="\/optimize"[^}]*status_code="200"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^watermark_http_request_duration_seconds_count\{[^}]*route="\/optimize"[^}]*status_code="422"[^}]*\}/m);
    expect(text).toMatch(/service="optimizer"/);
  });
});

describe('probes', () => {
  it('is alive and ready, then not ready once shutting down', async () => {
    const running = await start();
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    running.markNotReady();
    const res = await fetch(`${running.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ shuttingDown: true });
  });

  it('answers unknown routes with a 404 problem', async () => {
    await expectProblem(await fetch(`${optimizer.url}/nope`), 404);
  });
});

describe('runOptimizer', () => {
  it('starts from the environment, logs its URL, and exits 0 on SIGTERM after draining', async () => {
    // Through the CLI with the services' Node flags, as the image and the stack start it.
    const child = spawnComponent('optimizer', { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '2000' });
    const output = () => child.output.join('');
    const url = await waitFor(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output())?.[1], { what: 'the optimizer URL in its log', timeoutMs: 30_000 });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(output()).toMatch(/"msg":"stopping"/);
    expect(output()).toMatch(/"msg":"stopped"/);
  });
});
