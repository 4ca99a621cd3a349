/**
 * Scenario 4: a backlog of queued jobs drained by 1, 2 and 4 worker processes, against the
 * optimizer's own capacity for the same image, measured right before each drain; then the optimizer is
 * stopped, jobs queue up while the workers wait, and the clock runs from the optimizer answering
 * its readiness probe again to the first job done.
 */
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { runLoad } from '../load.js';
import { cpus } from 'node:os';
import { CpuMeter, daemonPids, machineBusySeconds, pin, placed } from '../cpu.js';
import type { BenchWorld } from '../world.js';
import { enqueueJobs, storeOriginals } from '../../helpers/jobs.js';
import { DoneClock } from './jobs.js';
import type { WatermarkSettings } from '../../../src/shared/contracts/index.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';

export interface Drain {
  image: string;
  jobs: number;
  workers: number;
  prefetch: number;
  /** The encoder's effort the jobs asked for (the default's unless a drain says otherwise). */
  effort: WatermarkSettings['effort'];
  jobsPerSecond: number;
  /** The optimizer's own capacity for the same image (images/s), measured right before this drain. */
  optimizerCapacity: number;
  /** jobsPerSecond over optimizerCapacity. */
  ratio: number;
  seconds: number;
  /** Each process (all workers together as `worker`) per job drained; `ceiling` is the optimizer alone. */
  cpuMsPerJob: Record<string, number>;
  /** Cores the whole machine kept busy during the drain (of `cores`). */
  busyCores: number;
  cores: number;
  /** Where the processes ran, when they were placed on cores (`cpus` in taskset's list form); shared cores otherwise. */
  placement?: CorePlacement;
}

/** The optimizer on some cores, everything else of the drain (workers, s3, RabbitMQ, Redis, api, bench) on the others. */
export interface CorePlacement {
  optimizer: string;
  others: string;
}

export interface FallbackResult {
  jobs: number;
  imagePixels: string;
  drains: Drain[];
  /** The default drain (large image, 2 workers, prefetch 2) with the optimizer on cores of its own, when the machine has 2 or more. */
  placedDrain?: Drain;
  /** The large image at `effort: max`, prefetch 1 then 2: the optimizer's work per job five times today's default. */
  maxEffortDrains: Drain[];
  recovery: { readyToFirstDoneS: number; spawnToFirstDoneS: number; probeIntervalMs: number };
}

/** The optimizer's capacity for an image: its rate over HTTP with connections beyond its concurrency, and its CPU per image. */
async function capacity(world: BenchWorld, image: CorpusImage, amount: number, settings: WatermarkSettings): Promise<{ perSecond: number; cpuMs: number }> {
  const url = `${world.env.OPTIMIZER_URL}/optimize`;
  const body = () => multipartBody(distinct(image.data), 'photo.jpg', 'image/jpeg', settings);
  await runLoad({ url, connections: 4, amount: 20, headers: { 'content-type': MULTIPART_TYPE }, body });
  const meter = new CpuMeter({ optimizer: world.services.get('optimizer')!.pid });
  const run = await runLoad({ url, connections: 4, amount, headers: { 'content-type': MULTIPART_TYPE }, body });
  const ok = run.statuses['200'] ?? 0;
  return { perSecond: (ok / run.requests) * run.perSecond, cpuMs: meter.perUnit(Math.max(1, ok)).optimizer! };
}

interface DrainPlan {
  image: CorpusImage;
  jobs: number;
  workers: number;
  prefetch: number;
  /** Images sent to the optimizer alone to measure its capacity right before the drain. */
  capacityJobs: number;
  placement?: CorePlacement;
  /** The jobs' settings, and the capacity's: the default ones unless given. */
  settings?: WatermarkSettings;
}

/** One backlog of `jobs` drained by `workers` fresh worker processes, against the optimizer's capacity measured right before. */
async function drain(world: BenchWorld, clock: DoneClock, plan: DrainPlan, log: (s: string) => void): Promise<Drain> {
  const { image, jobs, workers, prefetch, placement } = plan;
  const settings = plan.settings ?? DEFAULT_SETTINGS;
  const optimizerPid = world.services.get('optimizer')!.pid;
  // Right before each drain: the machine's other load drifts over a run, and both sides of the ratio should see the same.
  const optimizer = await capacity(world, image, plan.capacityJobs, settings);
  const hashes = await storeOriginals(world.store, image.data, jobs);
  for (let i = 0; i < workers; i += 1) await world.startWorker(i, { LOG_LEVEL: 'warn', WORKER_PREFETCH: String(prefetch) });
  while ((await world.consumers(RETRY_QUEUE)) !== workers) await new Promise((r) => setTimeout(r, 20));
  const workerPids = Array.from({ length: workers }, (_, i) => world.services.get(`worker-${i}`)!.pid);
  if (placement) for (const pid of workerPids) pin(pid, placement.others);
  const meter = new CpuMeter({ worker: workerPids, optimizer: optimizerPid, s3: world.services.get('s3')!.pid, ...daemonPids(), bench: process.pid });
  const started = performance.now();
  const machineBefore = machineBusySeconds();
  const resultIds = await enqueueJobs(world.broker, hashes, 'bench.jpg', settings);
  const last = await clock.allDone(resultIds, 300_000);
  const cpuMsPerJob = { ...meter.perUnit(jobs), ceiling: optimizer.cpuMs };
  const seconds = (last - started) / 1000;
  const busyCores = (machineBusySeconds() - machineBefore) / seconds;
  const jobsPerSecond = jobs / seconds;
  const ratio = jobsPerSecond / optimizer.perSecond;
  const cores = cpus().length; // the machine's: this process may be pinned to some of them
  const label = `${image.width}x${image.height}`;
  const result: Drain = {
    image: label,
    jobs,
    workers,
    prefetch,
    effort: settings.effort,
    jobsPerSecond,
    optimizerCapacity: optimizer.perSecond,
    ratio,
    seconds,
    cpuMsPerJob,
    busyCores,
    cores,
    ...(placement ? { placement } : {}),
  };
  log(
    `  ${label}, ${workers} worker(s), prefetch ${prefetch}, effort ${settings.effort}: ${jobs} jobs in ${seconds.toFixed(1)} s = ${jobsPerSecond.toFixed(1)} jobs/s, optimizer alone ${optimizer.perSecond.toFixed(1)}/s (${optimizer.cpuMs.toFixed(1)} ms of its CPU each), ratio ${ratio.toFixed(2)}; CPU ms per job ${Object.entries(
      cpuMsPerJob,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(
        ', ',
      )}; machine busy ${busyCores.toFixed(2)} of ${cores} cores${placement ? `; optimizer on CPU ${placement.optimizer}, the rest on ${placement.others}` : ''}`,
  );
  for (let i = workers - 1; i >= 0; i -= 1) await world.stop(`worker-${i}`);
  return result;
}

/** CPUs `from` to `to - 1` in taskset's list form. */
const cpuList = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i).join(',');

/**
 * The default drain (2 workers, prefetch 2) with the optimizer on half the cores and everything else
 * on the other half, its capacity measured there too: as in the chart, where the optimizer's pods
 * have CPU of their own and the workers, the store and the broker run beside them, not on it. This
 * asks what the goal asks, whether the workers keep the optimizer busy, without the optimizer also
 * losing CPU to the processes that feed it. Undefined on a machine of one core.
 */
async function drainOnOwnCores(
  world: BenchWorld,
  clock: DoneClock,
  image: CorpusImage,
  opts: { largeJobs: number; log: (s: string) => void },
): Promise<Drain | undefined> {
  const cores = cpus().length;
  if (cores < 2) return undefined;
  const half = Math.floor(cores / 2);
  const placement = { optimizer: cpuList(0, half), others: cpuList(half, cores) };
  const pid = (name: string) => world.services.get(name)!.pid;
  const others = [pid('s3'), pid('api'), ...Object.values(daemonPids()), process.pid];
  return placed({ [placement.optimizer]: [pid('optimizer')], [placement.others]: others }, () =>
    drain(world, clock, { image, jobs: opts.largeJobs, workers: 2, prefetch: 2, capacityJobs: Math.min(opts.largeJobs, 60), placement }, opts.log),
  );
}

/**
 * `smallJobs` jobs of the small image drained by 1, 2 and 4 workers at prefetch 1 (the former
 * default), then by 2 workers at prefetch 4 (what WORKER_PREFETCH buys when each worker waits on I/O
 * between jobs); then `largeJobs` of the large image by 2 workers, where the fixed cost of a job
 * weighs less against the optimizer's work; then both by 2 workers at today's default prefetch, 2.
 */
export async function fallback(
  world: BenchWorld,
  small: CorpusImage,
  large: CorpusImage,
  opts: { jobs: number; largeJobs: number; log: (s: string) => void },
): Promise<FallbackResult> {
  const clock = await DoneClock.open(world);
  try {
    const drains: Drain[] = [];
    const plan = [
      [small, opts.jobs, 1, 1],
      [small, opts.jobs, 2, 1],
      [small, opts.jobs, 4, 1],
      [small, opts.jobs, 2, 4],
      [large, opts.largeJobs, 2, 1],
      [small, opts.jobs, 2, 2],
      [large, opts.largeJobs, 2, 2],
    ] as const;
    for (const [image, jobs, workers, prefetch] of plan) {
      drains.push(
        await drain(
          world,
          clock,
          { image, jobs, workers, prefetch, capacityJobs: image === small ? Math.min(opts.jobs, 300) : Math.min(opts.largeJobs, 60) },
          opts.log,
        ),
      );
    }
    const placedDrain = await drainOnOwnCores(world, clock, large, opts);
    // The goal was set when effort max was the default: 5 times the optimizer's work per 1 MP job of
    // effort fast, against the same work around each job. What prefetch 2 buys shows there.
    const maxEffortDrains: Drain[] = [];
    for (const prefetch of [1, 2]) {
      const settings = { ...DEFAULT_SETTINGS, effort: 'max' as const };
      maxEffortDrains.push(
        await drain(world, clock, { image: large, jobs: Math.ceil(opts.largeJobs / 2), workers: 2, prefetch, capacityJobs: 20, settings }, opts.log),
      );
    }

    // Recovery: one worker waits while the optimizer is down; the clock runs from its return.
    await world.startWorker(0, { LOG_LEVEL: 'warn' });
    await world.stop('optimizer');
    const pending = await storeOriginals(world.store, small.data, 10);
    const pendingIds = await enqueueJobs(world.broker, pending, 'bench.jpg');
    await new Promise((r) => setTimeout(r, 1_500)); // the worker finds the optimizer down and pauses
    const spawnedAt = performance.now();
    const optimizer = world.startOptimizer();
    let readyAt = 0;
    while (readyAt === 0) {
      const ok = await fetch(`${world.env.OPTIMIZER_URL}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) readyAt = performance.now();
      else await new Promise((r) => setTimeout(r, 10));
    }
    await optimizer;
    const firstDone = await clock.firstDone(pendingIds, 60_000);
    await clock.allDone(pendingIds, 60_000);
    await world.stop('worker-0');
    await world.purge(RETRY_QUEUE);
    const recovery = { readyToFirstDoneS: (firstDone - readyAt) / 1000, spawnToFirstDoneS: (firstDone - spawnedAt) / 1000, probeIntervalMs: 500 };
    opts.log(
      `  recovery: first job done ${recovery.readyToFirstDoneS.toFixed(2)} s after the optimizer was ready (${recovery.spawnToFirstDoneS.toFixed(2)} s after its process started)`,
    );
    return { jobs: opts.jobs, imagePixels: `${small.width}x${small.height}`, drains, placedDrain, maxEffortDrains, recovery };
  } finally {
    await clock.close();
  }
}
