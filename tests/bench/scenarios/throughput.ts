/**
 * Scenarios 1 and 2: the ceiling (the optimizer's own sharp pipeline called directly, in a process
 * of its own, at the optimizer's concurrency: ../ceiling.ts) and the nominal path over HTTP (distinct images, every one a cache miss,
 * through the api: upload, hash, admission, original stored, optimizer, result stored and cached),
 * plus the optimizer alone over HTTP to split the gap. Run side by side, interleaved per run, so
 * the machine's drift hits all three alike.
 */
import { CeilingProcess } from '../ceiling.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusSet } from '../corpus.js';
import { median, percentile, runLoad, type LoadResult } from '../load.js';
import { collectGarbage, CpuMeter, daemonPids, machineBusySeconds, resetPeak, rss } from '../cpu.js';
import type { BenchWorld } from '../world.js';

export interface ThroughputRow {
  set: string;
  images: number;
  megapixels: number;
  inputKb: number;
  ceiling: number;
  optimizerHttp: number;
  nominal: number;
  ratio: number;
  p50: number;
  p95: number;
  p99: number;
  non200: number;
  runs: number;
  /** Cores the in-process ceiling actually got (of the machine's): below ~1.8 of 2, others were using the CPU. */
  ceilingCores: number;
  /**
   * CPU milliseconds per image (medians): `ceiling` is the in-process pipeline; the others are each
   * process during the nominal runs. On a saturated machine the ratio is about
   * optimizer / (everything), which is what these explain.
   */
  cpuMsPerImage: Record<string, number>;
}

const OPTIMIZER_CONCURRENCY = 2;
/** Clients on the HTTP paths: enough to keep the optimizer's slots busy while the api does its I/O. */
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2 * OPTIMIZER_CONCURRENCY);

/**
 * `amount` distinct multipart bodies, built before the clock starts: building a 4 MB body costs
 * the load generator as much CPU as the api spends on it, CPU the measured services would lose.
 */
function prebuilt(inputs: Buffer[], amount: number): () => Buffer {
  const bodies = Array.from({ length: amount }, (_, i) => multipartBody(distinct(inputs[i % inputs.length]!)));
  let next = 0;
  // autocannon may ask for one more body than it sends: wrap around rather than fail.
  return () => bodies[next++ % bodies.length]!;
}

export async function throughput(
  world: BenchWorld,
  sets: CorpusSet[],
  opts: { runs: number; seconds: number; log: (s: string) => void },
): Promise<{ rows: ThroughputRow[]; optimizerPeakMb: number }> {
  const ceilingProcess = CeilingProcess.start();
  try {
    return await measure(world, sets, ceilingProcess, opts);
  } finally {
    ceilingProcess.close();
  }
}

async function measure(
  world: BenchWorld,
  sets: CorpusSet[],
  ceilingProcess: CeilingProcess,
  opts: { runs: number; seconds: number; log: (s: string) => void },
): Promise<{ rows: ThroughputRow[]; optimizerPeakMb: number }> {
  const api = world.services.get('api')!;
  const optimizer = world.services.get('optimizer')!;
  resetPeak(optimizer.pid);
  const rows: ThroughputRow[] = [];
  for (const set of sets) {
    const inputs = set.images.map((i) => i.data);
    // Warm-up (first decode of this size, connections, JIT) and sizing: about `seconds` per run.
    const warm = await ceilingProcess.run(inputs, Math.max(2, Math.min(inputs.length, 4)), OPTIMIZER_CONCURRENCY);
    await runLoad({ url: `${api.url}/upload`, connections: 2, amount: 2, headers: { 'content-type': MULTIPART_TYPE }, body: prebuilt(inputs, 2) });
    const amount = Math.max(4, Math.min(80, Math.round(warm.perSecond * opts.seconds)));
    const ceilings: number[] = [];
    const directs: number[] = [];
    const nominals: LoadResult[] = [];
    const ratios: number[] = [];
    const cpuPerImage: Record<string, number>[] = [];
    const ceilingCoreList: number[] = [];
    for (let run = 0; run < opts.runs; run += 1) {
      const ceiling = await ceilingProcess.run(inputs, amount, OPTIMIZER_CONCURRENCY);
      const ceilingCores = (ceiling.cpuMsPerImage * ceiling.perSecond) / 1000;
      const directBodies = prebuilt(inputs, amount);
      collectGarbage();
      const direct = await runLoad({
        url: `${world.env.OPTIMIZER_URL}/optimize`,
        connections: CLIENTS,
        amount,
        headers: { 'content-type': MULTIPART_TYPE },
        body: directBodies,
      });
      const bodies = prebuilt(inputs, amount);
      collectGarbage();
      const meter = new CpuMeter({ optimizer: optimizer.pid, api: api.pid, s3: world.services.get('s3')!.pid, ...daemonPids(), bench: process.pid });
      const nominalMachineBefore = machineBusySeconds();
      const nominal = await runLoad({ url: `${api.url}/upload`, connections: CLIENTS, amount, headers: { 'content-type': MULTIPART_TYPE }, body: bodies });
      const ok = nominal.statuses['200'] ?? 0;
      const cpu = { ceiling: ceiling.cpuMsPerImage, ...meter.perUnit(Math.max(1, ok)) };
      cpuPerImage.push(cpu);
      const nominalMachine = (machineBusySeconds() - nominalMachineBefore) / nominal.seconds;
      // Only 200s count as served on the nominal path: a 202 went to the queue.
      const served = (ok / nominal.requests) * nominal.perSecond;
      ceilings.push(ceiling.perSecond);
      ceilingCoreList.push(ceilingCores);
      directs.push(((direct.statuses['200'] ?? 0) / direct.requests) * direct.perSecond);
      nominals.push({ ...nominal, perSecond: served });
      ratios.push(served / ceiling.perSecond);
      opts.log(
        `  ${set.label} run ${run + 1}: ceiling ${ceiling.perSecond.toFixed(2)}/s, optimizer http ${directs.at(-1)!.toFixed(2)}/s, nominal ${served.toFixed(2)}/s (${JSON.stringify(nominal.statuses)}), ratio ${(served / ceiling.perSecond).toFixed(3)}; cores busy ceiling ${ceilingCores.toFixed(2)} (machine ${ceiling.machineCores.toFixed(2)}), nominal machine ${nominalMachine.toFixed(2)}; CPU ms per image ${Object.entries(
          cpu,
        )
          .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
          .join(', ')}`,
      );
    }
    const mp = set.images.reduce((s, i) => s + i.width * i.height, 0) / set.images.length / 1e6;
    rows.push({
      set: set.label,
      images: set.images.length,
      megapixels: mp,
      inputKb: set.images.reduce((s, i) => s + i.data.length, 0) / set.images.length / 1024,
      ceiling: median(ceilings),
      optimizerHttp: median(directs),
      nominal: median(nominals.map((n) => n.perSecond)),
      ratio: median(ratios),
      p50: median(nominals.map((n) => n.p50)),
      p95: median(nominals.map((n) => n.p95)),
      p99: median(nominals.map((n) => n.p99)),
      non200: nominals.reduce((s, n) => s + n.requests - (n.statuses['200'] ?? 0), 0),
      runs: opts.runs,
      ceilingCores: median(ceilingCoreList),
      cpuMsPerImage: Object.fromEntries(Object.keys(cpuPerImage[0] ?? {}).map((name) => [name, median(cpuPerImage.map((c) => c[name]!))])),
    });
  }
  return { rows, optimizerPeakMb: rss(optimizer.pid).peakMb };
}

export { percentile };
