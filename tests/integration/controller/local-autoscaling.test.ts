/**
 * End to end on this machine: `nws-watermark controller` in local mode, configured by a
 * QueueScaler file, scales real worker processes on real RabbitMQ/Redis/s3rver/optimizer.
 * A backlog scales the workers up; scale-downs during the drain stop workers that hold a job, and
 * they finish it (no redelivery); drained, back to minReplicas; with minReplicas 0, to zero; a few
 * jobs wake it from zero. It asserts what happens, never how fast: it prints the reaction times
 * for information, and `npm run bench` measures them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { createHarness, freePort, type Harness } from '../../helpers/harness.js';
import { reservePorts } from '../../helpers/ports.js';
import { makeJpeg } from '../../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { enqueueJobs, storeOriginals } from '../../helpers/jobs.js';
import { consumerCount, ensureManagementApi } from './broker.js';
import { queueScalerSpec } from '../../helpers/queue-scaler.js';

const JOBS = 200;
const OPTIMIZE_DELAY_MS = 250; // each job takes a while, so workers are busy when scaled down
const POLL_S = 1;
const WINDOW_S = 1;
const COOLDOWN_S = 2;

let h: Harness;
let controller: ChildComponent;
let controllerUrl: string;
let proxy: Server;
let dir: string;
let specFile: string;

function writeSpec(minReplicas: number): void {
  writeFileSync(
    specFile,
    queueScalerSpec('autoscale', {
      minReplicas,
      maxReplicas: 4,
      messagesPerReplica: 20,
      pollingIntervalSeconds: POLL_S,
      scaleDownStabilizationSeconds: WINDOW_S,
      cooldownSeconds: COOLDOWN_S,
    }),
  );
}

/** The optimizer behind a proxy that holds each /optimize for OPTIMIZE_DELAY_MS. */
async function startSlowProxy(target: number): Promise<string> {
  proxy = createServer((req, res) => {
    const forward = () => {
      const upstream = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (req.url?.startsWith('/optimize')) setTimeout(forward, OPTIMIZE_DELAY_MS);
    else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

async function desired(): Promise<number | undefined> {
  const text = await fetch(`${controllerUrl}/metrics`).then((r) => r.text());
  const m = /^watermark_scaler_desired_replicas\{[^}]*scaler="autoscale"[^}]*\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

const consumers = () => consumerCount(h.broker, RETRY_QUEUE);

const output = () => controller.output.join('');
const doneLines = () =>
  output()
    .split('\n')
    .filter((l) => l.includes('"msg":"job done"'));

beforeAll(async () => {
  await ensureManagementApi();
  h = await createHarness('autoscale');
  await h.startOptimizer();
  const optimizerUrl = await startSlowProxy(h.optimizerPort);
  dir = mkdtempSync(join(tmpdir(), 'nws-autoscale-'));
  specFile = join(dir, 'queuescaler.yaml');
  writeSpec(1);
  const port = await freePort();
  controllerUrl = `http://127.0.0.1:${port}`;
  controller = spawnComponent('controller', {
    ...h.env,
    LOG_LEVEL: 'info',
    CONTROLLER_MODE: 'local',
    QUEUE_SCALER_FILE: specFile,
    PORT: String(port),
    WORKER_PORT: String(await reservePorts(4)), // workers take WORKER_PORT, WORKER_PORT+1, …
    OPTIMIZER_URL: optimizerUrl,
    OPTIMIZER_TIMEOUT_MS: '10000',
  });
  await waitReady(controllerUrl);
  await waitFor(async () => (await consumers()) === 1, { timeoutMs: 30_000, what: 'minReplicas: one worker consuming' });
});
afterAll(async () => {
  controller?.kill('SIGTERM');
  await controller?.exited;
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await h?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function publishJobs(count: number): Promise<string[]> {
  const hashes = await storeOriginals(h.store, await makeJpeg(7, 64, 48), count, 25);
  await enqueueJobs(h.broker, hashes, 'x.jpg');
  return hashes;
}

describe('local autoscaling', () => {
  it('scales up on a backlog, drains busy workers on scale-down, and comes back to min', async () => {
    await publishJobs(JOBS);
    const backlogAt = Date.now();
    await waitFor(async () => (await desired()) === 4, { intervalMs: 20, timeoutMs: 10_000, what: 'desired 4' });
    const decisionMs = Date.now() - backlogAt;
    await waitFor(async () => (await consumers()) === 4, { intervalMs: 20, timeoutMs: 20_000, what: '4 workers consuming' });
    const consumingMs = Date.now() - backlogAt;
    console.log(
      `reaction to a backlog of ${JOBS} jobs: scale decision after ${decisionMs} ms, 4 workers consuming after ${consumingMs} ms (polling interval ${POLL_S * 1000} ms)`,
    );

    await waitFor(() => doneLines().length >= JOBS, { timeoutMs: 60_000, what: `${JOBS} jobs done` });
    const drainedAt = Date.now();
    await waitFor(async () => (await desired()) === 1 && (await consumers()) === 1, { timeoutMs: 20_000, what: 'back to 1 worker' });
    console.log(`drained: back to minReplicas 1 after ${Date.now() - drainedAt} ms (window ${WINDOW_S * 1000} ms)`);

    const done = doneLines();
    expect(done.filter((l) => l.includes('"redelivered":true'))).toEqual([]);
    expect(new Set(done.map((l) => /"hash":"([0-9a-f]{64})"/.exec(l)?.[1])).size).toBe(JOBS);
    // A worker stopped by a scale-down while it held a job finished that job before exiting.
    // It leaves the queue (consumers drop to 1) before it finishes that job and logs "stopped".
    const scaledDown = ['worker-2', 'worker-3', 'worker-4'];
    const stoppedLine = (name: string) =>
      output()
        .split('\n')
        .some((l) => l.startsWith(`[${name}] `) && l.includes('"msg":"stopped"'));
    await waitFor(() => scaledDown.every(stoppedLine), { what: 'the scaled-down workers to log "stopped"' });
    const lines = output().split('\n');
    const drainedBusy = scaledDown.filter((name) => {
      const own = lines.filter((l) => l.startsWith(`[${name}] `));
      const stopping = own.findIndex((l) => l.includes('"msg":"stopping"'));
      const stopped = own.findIndex((l) => l.includes('"msg":"stopped"'));
      return stopping >= 0 && stopped > stopping && own.slice(stopping, stopped).some((l) => l.includes('"msg":"job done"'));
    });
    console.log(`workers that finished their job in hand after SIGTERM: ${drainedBusy.join(', ') || 'none'}`);
    expect(drainedBusy.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('grace period over'))).toBe(false);
  });

  it('goes to zero after the cooldown once minReplicas is 0, and wakes up from zero', async () => {
    await publishJobs(3);
    await waitFor(() => doneLines().length >= JOBS + 3, { timeoutMs: 20_000, what: '3 more jobs done' });
    const lastDoneAt = Date.now();
    writeSpec(0); // as `kubectl apply` of a new spec
    await waitFor(async () => (await desired()) === 0 && (await consumers()) === 0, { timeoutMs: 20_000, what: 'zero workers' });
    console.log(`to zero ${Date.now() - lastDoneAt} ms after the last job (cooldown ${COOLDOWN_S * 1000} ms)`);

    await publishJobs(2);
    const wokeAt = Date.now();
    await waitFor(async () => (await consumers()) === 1, { intervalMs: 20, timeoutMs: 20_000, what: 'a worker from zero' });
    console.log(`from zero: a worker consuming ${Date.now() - wokeAt} ms after 2 jobs arrived`);
    await waitFor(() => doneLines().length >= JOBS + 5, { timeoutMs: 20_000, what: 'the 2 jobs done' });
    const status = (await fetch(`${controllerUrl}/scalers`).then((r) => r.json())) as Record<
      string,
      { status: { conditions: { type: string; status: string }[] } }
    >;
    expect(status.autoscale?.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('stops its workers with a drain when it is stopped', async () => {
    controller.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
    expect(await consumers()).toBe(0);
  });
});
