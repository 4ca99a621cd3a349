/**
 * The container image, built from the real Dockerfile on a local stand-in of its base image, runs
 * every component on the host network against the real RabbitMQ, Redis and an S3 endpoint, with
 * the restrictions the chart puts on pods, and carries the nominal and the fallback path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { buildImage, docker, ensureEngine, logs, startContainer, type BuiltImage } from './docker.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';

const TAG = 'nws-watermark:container-test';
const unavailable = ensureEngine();
if (unavailable) console.warn(`SKIPPED tests/container: ${unavailable}`);

/** A flat grey photo: any non-flat pixel in the output was drawn by the watermark. */
function flatGrey(width: number, height: number, level: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: level, g: level, b: level } } }).jpeg().toBuffer();
}

/** Largest per-channel standard deviation of a region of an encoded image. */
async function regionSpread(image: Buffer, region: { left: number; top: number; width: number; height: number }): Promise<number> {
  // stats() reads its input, not the pipeline: extract to a lossless buffer first.
  const stats = await sharp(await sharp(image).extract(region).png().toBuffer()).stats();
  return Math.max(...stats.channels.map((c) => c.stdev));
}

describe.skipIf(unavailable !== undefined)('the nws-watermark image', () => {
  let image: BuiltImage;
  let world: Harness;
  const containers: string[] = [];
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const name = (component: string) => `nws-ct-${component}-${suffix}`;
  let apiUrl = '';

  beforeAll(async () => {
    const started = Date.now();
    image = await buildImage(TAG);
    console.log(
      `image ${TAG}: ${(image.sizeBytes / 1024 / 1024).toFixed(0)} MiB; base stand-in ${(image.standinMs / 1000).toFixed(1)} s, ` +
        `docker build ${(image.buildMs / 1000).toFixed(1)} s (total ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );

    world = await createHarness('container');
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const env = { ...world.env, S3_ACCESS_KEY: 'S3RVER', S3_SECRET_KEY: 'S3RVER', LOG_LEVEL: 'info' };
    const components: [string, Record<string, string>][] = [
      ['optimizer', { LOG_LEVEL: 'info', PORT: String(world.optimizerPort), HOST: '127.0.0.1' }],
      ['api', { ...env, PORT: String(apiPort) }],
      ['worker', { ...env, PORT: String(workerPort) }],
    ];
    for (const [component, componentEnv] of components) {
      containers.push(name(component));
      await startContainer({ name: name(component), image: TAG, command: component, env: componentEnv });
    }
    for (const [component, componentEnv] of components) {
      const url = `http://127.0.0.1:${componentEnv.PORT}`;
      await waitFor(async () => (await fetch(`${url}/readyz`)).ok, { timeoutMs: 30_000, what: `${component} ready` }).catch(
        async (err: unknown) => {
          throw new Error(`${String(err)}\n--- ${component} logs ---\n${await logs(name(component))}`);
        },
      );
    }
  }, 30 * 60_000);

  afterAll(async () => {
    for (const container of containers) await docker('rm', '--force', container).catch(() => undefined);
    await world?.cleanup();
  }, 60_000);

  it('runs as a non-root user with tini as PID 1 and selects the component by its command', async () => {
    const config = JSON.parse(await docker('image', 'inspect', '--format', '{{json .Config}}', TAG)) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
    };
    expect(config.User).toBe('10001:10001');
    expect(config.Entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(config.Cmd).toEqual(['api']);
    // An unknown command prints the usage, which names every component, and exits 64.
    const usage = await docker('run', '--rm', TAG, 'no-such-component').then(
      () => ({ code: 0, text: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, text: err.stderr }),
    );
    expect(usage.code).toBe(64);
    for (const component of ['api', 'optimizer', 'worker', 'controller']) expect(usage.text).toMatch(new RegExp(`^\\s+${component}\\s`, 'm'));
  });

  it('serves the web page from the image', async () => {
    const page = await fetch(`${apiUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"');
  });

  it('answers an upload with the watermarked image (fonts present: the text is drawn)', async () => {
    const original = await flatGrey(800, 600, 128);
    const res = await upload(apiUrl, original, 'grey.jpg');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
    const out = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([800, 600]);
    // The mark sits south-east; the north-west corner stays flat grey.
    expect(await regionSpread(out, { left: 0, top: 0, width: 200, height: 150 })).toBeLessThan(2);
    expect(await regionSpread(out, { left: 560, top: 480, width: 240, height: 120 })).toBeGreaterThan(5);
  });

  it('stops the optimizer gracefully on SIGTERM, falls back to the queue, and the worker finishes the job', async () => {
    const optimizer = name('optimizer');
    await docker('stop', '--time', '20', optimizer);
    // tini forwarded SIGTERM and node drained and exited 0: not killed after the grace period (137).
    expect(await docker('inspect', '--format', '{{.State.ExitCode}}', optimizer)).toBe('0');

    const res = await upload(apiUrl, await makeJpeg(6001), 'queued.jpg');
    expect(res.status).toBe(202);
    const body = (await res.json()) as { jobId: string; status: string; statusUrl: string };
    expect(body.status).toBe('pending');
    expect((await (await fetch(`${apiUrl}${body.statusUrl}`)).json()) as { status: string }).toMatchObject({ status: 'pending' });

    await docker('start', optimizer);
    const done = await waitFor(
      async () => {
        const status = (await (await fetch(`${apiUrl}${body.statusUrl}`)).json()) as { status: string; url?: string };
        return status.status === 'done' ? status : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `job ${body.jobId} done` },
    );
    const result = await fetch(`${apiUrl}${done.url ?? ''}`);
    expect(result.status).toBe(200);
    expect((await sharp(Buffer.from(await result.arrayBuffer())).metadata()).format).toBe('jpeg');
  }, 120_000);

  it('reports its size', () => {
    // Production dependencies (sharp with libvips, the Kubernetes client) on Node.js and Debian slim.
    expect(image.sizeBytes).toBeGreaterThan(0);
    // A budget: 437 MiB when written (256 MiB of it Node.js on Debian slim); growth past it is a choice.
    expect(image.sizeBytes).toBeLessThan(600 * 1024 * 1024);
  });
});
