/**
 * Scenario 4: a backlog of queued jobs drained by 1, 2 and 4 worker processes, against the
 * optimizer's own capacity for the same image measured in the same run; then the optimizer is
 * stopped, jobs queue up while the workers wait, and the clock runs from the optimizer answering
 * its readiness probe again to the first job done.
 */
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { runLoad } from '../load.js';
import { CpuMeter, daemonPids, type BenchWorld } from '../world.js';
import { DoneClock, publishJobs, storeOriginals } from './jobs.js';

export interface FallbackResult {
  jobs: number;
  imagePixels: string;
  optimizerCapacity: number;
  /** CPU milliseconds per image of the optimizer alone, measured with its capacity. */
  optimizerCpuMs: number;
  /** `cpuMsPerJob`: each process (all workers together as `worker`) per job drained. */
  drains: Array<{ workers: number; prefetch: number; jobsPerSecond: number; ratio: number; seconds: number; cpuMsPerJob: Record<string, number> }>;
  recovery: { readyToFirstDoneS: number; spawnToFirstDoneS: number; probeIntervalMs: number };
}

export async function fallback(world: BenchWorld, image: CorpusImage, opts: { jobs: number; log: (s: string) => void }): Promise<FallbackResult> {
  const clock = await DoneClock.open(world);
  try {
    // The optimizer's capacity for this image: its best rate over HTTP (connections beyond its concurrency).
    await runLoad({ url: `${world.env.OPTIMIZER_URL}/optimize`, connections: 4, amount: 20, headers: { 'content-type': MULTIPART_TYPE }, body: () => multipartBody(distinct(image.data)) });
    const optimizerPid = world.services.get('optimizer')!.pid;
    const capacityMeter = new CpuMeter({ optimizer: optimizerPid });
    const capacityRun = await runLoad({ url: `${world.env.OPTIMIZER_URL}/optimize`, connections: 4, amount: Math.min(opts.jobs, 300), headers: { 'content-type': MULTIPART_TYPE }, body: () => multipartBody(distinct(image.data)) });
    const optimizerCapacity = ((capacityRun.statuses['200'] ?? 0) / capacityRun.requests) * capacityRun.perSecond;
    const optimizerCpuMs = capacityMeter.perUnit(Math.max(1, capacityRun.statuses['200'] ?? 0)).optimizer!;
    opts.log(`  optimizer capacity for ${image.width}x${image.height}: ${optimizerCapacity.toFixed(1)} images/s, ${optimizerCpuMs.toFixed(1)} ms of its CPU per image`);

    const drains: FallbackResult['drains'] = [];
    // 1, 2 and 4 workers at the default prefetch (1), then 2 workers at prefetch 4: what the
    // WORKER_PREFETCH setting buys when each worker waits on I/O between jobs.
    for (const [workers, prefetch] of [[1, 1], [2, 1], [4, 1], [2, 4]] as const) {
      const hashes = await storeOriginals(world, image.data, opts.jobs);
      for (let i = 0; i < workers; i += 1) await world.startWorker(i, { LOG_LEVEL: 'warn', WORKER_PREFETCH: String(prefetch) });
      while ((await world.consumers(RETRY_QUEUE)) !== workers) await new Promise((r) => setTimeout(r, 20));
      const workerPids = Array.from({ length: workers }, (_, i) => world.services.get(`worker-${i}`)!.pid);
      const meter = new CpuMeter({ worker: workerPids, optimizer: optimizerPid, s3: world.services.get('s3')!.pid, ...daemonPids(), bench: process.pid });
      const started = performance.now();
      await publishJobs(world, hashes);
      const last = await clock.allDone(hashes, 300_000);
      const cpuMsPerJob = meter.perUnit(opts.jobs);
      const seconds = (last - started) / 1000;
      const jobsPerSecond = opts.jobs / seconds;
      drains.push({ workers, prefetch, jobsPerSecond, ratio: jobsPerSecond / optimizerCapacity, seconds, cpuMsPerJob });
      opts.log(`  ${workers} worker(s), prefetch ${prefetch}: ${opts.jobs} jobs in ${seconds.toFixed(1)} s = ${jobsPerSecond.toFixed(1)} jobs/s, ratio ${(jobsPerSecond / optimizerCapacity).toFixed(2)}; CPU ms per job ${Object.entries(cpuMsPerJob).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
      for (let i = workers - 1; i >= 0; i -= 1) await world.stop(`worker-${i}`);
    }

    // Recovery: one worker waits while the optimizer is down; the clock runs from its return.
    await world.startWorker(0, { LOG_LEVEL: 'warn' });
    await world.stop('optimizer');
    const pending = await storeOriginals(world, image.data, 10);
    await publishJobs(world, pending);
    await new Promise((r) => setTimeout(r, 1_500)); // the worker finds the optimizer down and pauses
    const spawnedAt = performance.now();
    const optimizer = world.startOptimizer();
    let readyAt = 0;
    while (readyAt === 0) {
      const ok = await fetch(`${world.env.OPTIMIZER_URL}/readyz`).then((r) => r.ok, () => false);
      if (ok) readyAt = performance.now();
      else await new Promise((r) => setTimeout(r, 10));
    }
    await optimizer;
    const firstDone = await clock.firstDone(pending, 60_000);
    await clock.allDone(pending, 60_000);
    await world.stop('worker-0');
    await world.purge(RETRY_QUEUE);
    const recovery = { readyToFirstDoneS: (firstDone - readyAt) / 1000, spawnToFirstDoneS: (firstDone - spawnedAt) / 1000, probeIntervalMs: 500 };
    opts.log(`  recovery: first job done ${recovery.readyToFirstDoneS.toFixed(2)} s after the optimizer was ready (${recovery.spawnToFirstDoneS.toFixed(2)} s after its process started)`);
    return { jobs: opts.jobs, imagePixels: `${image.width}x${image.height}`, optimizerCapacity, optimizerCpuMs, drains, recovery };
  } finally {
    await clock.close();
  }
}
