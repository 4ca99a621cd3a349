/**
 * The container image, built from the real Dockerfile on a local stand-in of its base image, runs
 * all four components on the host network against the real RabbitMQ, Redis and an S3 endpoint, with
 * the restrictions the chart puts on pods, and carries the nominal and the fallback path. The
 * controller runs in local mode (no Kubernetes API here) from a QueueScaler file mounted as a
 * ConfigMap would be: it loads the same modules as in a cluster, so a runtime import missing from
 * the pruned node_modules crash-loops it here too.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { buildImage, docker, ensureEngine, logs, startContainer, type BuiltImage } from './docker.js';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';
import { ensureManagementApi, MANAGEMENT_URL } from '../integration/controller/broker.js';

const TAG = 'nws-watermark:container-test';
const SCALER = 'container-test';
const SCALER_FILE = '/etc/nws-watermark/queuescaler.yaml';
const unavailable = ensureEngine();
if (unavailable) console.warn(`SKIPPED tests/container: ${unavailable}`);

/** A flat grey photo: any non-flat pixel in the output was drawn by the watermark. */
function flatGrey(width: number, height: number, level: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: level, g: level, b: level } } })
    .jpeg()
    .toBuffer();
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
  const urls: Record<string, string> = {};
  let apiUrl = '';
  let controllerUrl = '';
  let controllerWorkerUrl = '';
  let dir = '';
  /** A wait whose failure carries the component's last log lines. */
  const withLogs = <T>(component: string, waiting: Promise<T>): Promise<T> =>
    waiting.catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n--- ${component} logs ---\n${await logs(name(component))}`);
    });

  beforeAll(async () => {
    const started = Date.now();
    image = await buildImage(TAG);
    console.log(
      `image ${TAG}: ${(image.sizeBytes / 1024 / 1024).toFixed(0)} MiB; base stand-in ${(image.standinMs / 1000).toFixed(1)} s, ` +
        `docker build ${(image.buildMs / 1000).toFixed(1)} s (total ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );

    await ensureManagementApi();
    world = await createHarness('container');
    const [apiPort, workerPort, controllerPort, controllerWorkerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    controllerUrl = `http://127.0.0.1:${controllerPort}`;
    controllerWorkerUrl = `http://127.0.0.1:${controllerWorkerPort}`;
    const env = { ...world.env, S3_ACCESS_KEY: 'S3RVER', S3_SECRET_KEY: 'S3RVER', LOG_LEVEL: 'info' };

    // The QueueScaler the controller reads, readable by the image's non-root user. No vhost: locally
    // that is the vhost of RABBITMQ_URL, this test's own. One worker, which the controller spawns.
    dir = mkdtempSync(join(tmpdir(), 'nws-ct-'));
    const scalerFile = join(dir, 'queuescaler.yaml');
    const queueScaler = {
      apiVersion: 'watermark.nws.io/v1alpha1',
      kind: 'QueueScaler',
      metadata: { name: SCALER },
      spec: { scaleTargetRef: { name: 'nws-watermark-worker' }, queue: RETRY_QUEUE, minReplicas: 1, maxReplicas: 1, pollingIntervalSeconds: 1 },
    };
    writeFileSync(scalerFile, JSON.stringify(queueScaler, null, 2)); // JSON is YAML
    chmodSync(scalerFile, 0o644);

    const components: { component: string; env: Record<string, string>; mounts?: Record<string, string> }[] = [
      { component: 'optimizer', env: { LOG_LEVEL: 'info', PORT: String(world.optimizerPort), HOST: '127.0.0.1' } },
      { component: 'api', env: { ...env, PORT: String(apiPort) } },
      { component: 'worker', env: { ...env, PORT: String(workerPort) } },
      {
        component: 'controller',
        env: {
          ...env,
          PORT: String(controllerPort),
          CONTROLLER_MODE: 'local',
          QUEUE_SCALER_FILE: SCALER_FILE,
          RABBITMQ_MANAGEMENT_URL: MANAGEMENT_URL,
          WORKER_PORT: String(controllerWorkerPort),
        },
        mounts: { [scalerFile]: SCALER_FILE },
      },
    ];
    for (const { component, env: componentEnv, mounts } of components) {
      containers.push(name(component));
      urls[component] = `http://127.0.0.1:${componentEnv.PORT}`;
      await startContainer({ name: name(component), image: TAG, command: component, env: componentEnv, ...(mounts ? { mounts } : {}) });
    }
    for (const { component } of components) {
      const url = urls[component];
      await withLogs(
        component,
        waitFor(async () => (await fetch(`${url}/readyz`)).ok, { timeoutMs: 30_000, what: `${component} ready` }),
      );
    }
  }, 30 * 60_000);

  afterAll(async () => {
    for (const container of containers) await docker('rm', '--force', container).catch(() => undefined);
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
      (err: unknown) => {
        const failed = err as { code: number; stderr: string };
        return { code: failed.code, text: failed.stderr };
      },
    );
    expect(usage.code).toBe(64);
    for (const component of ['api', 'optimizer', 'worker', 'controller']) expect(usage.text).toMatch(new RegExp(`^\\s+${component}\\s`, 'm'));
  });

  it.each(['api', 'optimizer', 'worker', 'controller'])('starts the %s, which answers /healthz', async (component) => {
    const res = await fetch(`${urls[component]}/healthz`);
    const body = (await res.json()) as { status: string };
    console.log(`${component} (${name(component)}) ${urls[component]}/healthz: ${res.status} ${JSON.stringify(body)}`);
    expect(res.status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('starts the controller with the QueueScaler of its mounted file, which spawns the worker it asks for', async () => {
    type Scalers = Record<string, { spec: { queue: string; vhost: string }; status: { currentReplicas?: number } }>;
    const scaler = await withLogs(
      'controller',
      waitFor(
        async () => {
          const found = ((await (await fetch(`${controllerUrl}/scalers`)).json()) as Scalers)[SCALER];
          return found?.status.currentReplicas === 1 ? found : undefined;
        },
        { timeoutMs: 30_000, what: `the controller's scaler ${SCALER} with one replica` },
      ),
    );
    expect(scaler.spec).toMatchObject({ queue: RETRY_QUEUE, vhost: decodeURIComponent(new URL(world.rabbitUrl).pathname.slice(1)) });
    const metrics = await (await fetch(`${controllerUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^watermark_scaler_max_replicas\\{[^}]*scaler="${SCALER}"[^}]*\\} 1$`, 'm'));
    // The worker process the controller started inside its container, on WORKER_PORT.
    await withLogs(
      'controller',
      waitFor(async () => (await fetch(`${controllerWorkerUrl}/healthz`)).ok, { timeoutMs: 30_000, what: 'the worker the controller spawned' }),
    );
    console.log(
      `controller scaler ${SCALER}: queue ${scaler.spec.queue} in vhost ${scaler.spec.vhost}, currentReplicas ${scaler.status.currentReplicas}; ` +
        `its worker answers ${controllerWorkerUrl}/healthz`,
    );
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
