/**
 * `npm run bench`: every figure of issue 7 measured side by side in one run on this machine,
 * printed as a table of ratios and written to .data/bench-results.json. `BENCH_QUICK=1` makes one
 * short run of each. Services run as real processes of the built CLI on a private vhost, Redis
 * prefix and s3rver; nothing here asserts a time: this is where speed is judged, not the tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generated, photographs, type CorpusImage, type CorpusSet } from './corpus.js';
import { median } from './load.js';
import { autoscaler, type AutoscalerResult } from './scenarios/autoscaler.js';
import { cacheHit, type CacheHitResult } from './scenarios/cache-hit.js';
import { fallback, type Drain, type FallbackResult } from './scenarios/fallback.js';
import { hungOptimizer, type HungOptimizerResult } from './scenarios/hung-optimizer.js';
import { memory, type MemoryResult } from './scenarios/memory.js';
import { IPX_TARGET, peer, type PeerResult } from './scenarios/peer.js';
import { throughput, type ThroughputRow } from './scenarios/throughput.js';
import { BenchWorld } from './world.js';
import { DEFAULT_SETTINGS } from '../helpers/watermark.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const wants = (name: string) => ONLY.size === 0 || ONLY.has(name);
const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

function machine() {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: availableParallelism(),
    cpu,
    memoryGb: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024),
    node: process.version,
    libvips: sharp.versions.vips,
    sharp: sharp.versions.sharp,
    loadAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/** A JPEG of about `bytes`: the generated 24 MP picture, encoded at the quality that reaches it. */
async function imageOfSize(bytes: number, base: CorpusImage): Promise<CorpusImage> {
  let best = base;
  for (const quality of [80, 85, 88, 90, 92, 94, 95, 96, 97, 98, 99]) {
    const data = await sharp(base.data).jpeg({ quality }).toBuffer();
    best = { ...base, name: `${(data.length / 1e6).toFixed(1)} MB`, data };
    if (data.length >= bytes) break;
  }
  return best;
}

/**
 * Where the CPU goes, in ms per image or job, process by process. `ceiling` is the pipeline alone
 * (in process, or the optimizer alone for a drain); the share is the optimizer's part of the CPU
 * everything used. On a saturated machine throughput / ceiling is about share × busy cores of each.
 */
function cpuTable(what: string, rows: [string, Record<string, number>][]): string[] {
  const processes = ['optimizer', 'api', 'worker', 's3', 'redis', 'rabbitmq', 'bench'].filter((p) => rows.some(([, cpu]) => cpu[p] !== undefined));
  const lines = [`| ${what}: CPU ms each | alone | ${processes.join(' | ')} | optimizer share |`, `|---|--:|${processes.map(() => '--:|').join('')}--:|`];
  for (const [label, cpu] of rows) {
    const total = processes.reduce((sum, p) => sum + (cpu[p] ?? 0), 0);
    lines.push(
      `| ${label} | ${fmt(cpu.ceiling ?? NaN, 1)} | ${processes.map((p) => fmt(cpu[p] ?? NaN, 1)).join(' | ')} | ${fmt((cpu.optimizer ?? NaN) / total)} |`,
    );
  }
  return lines;
}

/** Which drain: image, workers, prefetch, and the effort or the placement where they are not the default's. */
function drainLabel(d: Drain): string {
  const placed = d.placement ? `, optimizer on CPU ${d.placement.optimizer} alone` : '';
  const effort = d.effort === DEFAULT_SETTINGS.effort ? '' : `, effort ${d.effort}`;
  return `${d.image}: ${d.workers} worker${d.workers > 1 ? 's' : ''}, prefetch ${d.prefetch}${effort}${placed}`;
}

/**
 * The machine's busy cores during a drain, and the highest ratio the drain's CPU per job allows: on
 * shared cores, every process's; with the optimizer placed apart, the other processes' on theirs.
 */
function drainBound(d: Drain): string {
  const feeders = Object.entries(d.cpuMsPerJob).filter(([name]) => name !== 'ceiling' && (!d.placement || name !== 'optimizer'));
  const cpuMsPerJob = feeders.reduce((sum, [, ms]) => sum + ms, 0);
  const cores = d.placement ? d.placement.others.split(',').length : d.cores;
  const allowed = (cores * 1000) / cpuMsPerJob / d.optimizerCapacity;
  return `${fmt(d.busyCores)} of ${d.cores} cores busy; ${fmt(cpuMsPerJob, 1)} CPU ms per job on ${cores} core${cores > 1 ? 's' : ''} allow ${fmt(allowed)}`;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const mark = (ok: boolean) => (ok ? 'yes' : 'no');

function report(results: {
  machine: ReturnType<typeof machine> & { loadAtEnd?: number[] };
  corpusNote: string;
  throughput?: { rows: ThroughputRow[]; optimizerPeakMb: number };
  cacheHit?: CacheHitResult;
  fallback?: FallbackResult;
  hung?: HungOptimizerResult;
  autoscaler?: AutoscalerResult;
  memory?: MemoryResult;
  peer?: PeerResult;
}): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(
    `Machine: ${m.cpus} cores, ${m.cpu}, ${m.memoryGb} GB; Node ${m.node}, sharp ${m.sharp}, libvips ${m.libvips}; load average ${m.loadAtStart.join(' ')} at start, ${(m.loadAtEnd ?? []).join(' ')} at end.`,
  );
  lines.push(`Corpus: ${results.corpusNote}.`);
  lines.push('');
  if (results.throughput) {
    lines.push(
      `| images | n | MP | input KB | ceiling img/s | ceiling CPU (of ${m.cpus}) | optimizer HTTP img/s | nominal img/s | nominal / ceiling | p50 ms | p95 ms | p99 ms | non-200 |`,
    );
    lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const r of results.throughput.rows) {
      lines.push(
        `| ${r.set} | ${r.images} | ${fmt(r.megapixels, 1)} | ${fmt(r.inputKb, 0)} | ${fmt(r.ceiling)} | ${fmt(r.ceilingCores)} | ${fmt(r.optimizerHttp)} | ${fmt(r.nominal)} | **${fmt(r.ratio)}** | ${fmt(r.p50, 0)} | ${fmt(r.p95, 0)} | ${fmt(r.p99, 0)} | ${r.non200} |`,
      );
    }
    lines.push('');
    lines.push(
      ...cpuTable(
        'images',
        results.throughput.rows.map((r) => [r.set, r.cpuMsPerImage]),
      ),
    );
    lines.push('');
  }
  if (results.fallback) {
    const f = results.fallback;
    lines.push(
      ...cpuTable(
        'drain',
        [...f.drains, ...(f.placedDrain ? [f.placedDrain] : []), ...f.maxEffortDrains].map((d) => [drainLabel(d), d.cpuMsPerJob]),
      ),
    );
    lines.push('');
  }
  const p = results.peer;
  if (p) {
    const ipx = p.variants.find((v) => v.name === 'ipx')!;
    lines.push(
      `Peer: ${p.images} photographs of ${fmt(p.megapixels, 1)} MP mean, ${p.runs} runs (ipx and our defaults back to back in each, the other variants interleaved), 4 clients; ipx \`GET /${IPX_TARGET}/<file>\` from a local file, ours \`POST /optimize\` (multipart). SSIM: against the source resized with lanczos3 to the output's size.`,
    );
    lines.push('');
    lines.push('| server | img/s | × ipx | CPU ms per image | bench CPU ms | mean KB | SSIM | sizes as ipx |');
    lines.push('|---|--:|--:|--:|--:|--:|--:|---|');
    for (const v of p.variants) {
      lines.push(
        `| ${v.name} | ${fmt(v.perSecond)} | ${fmt(v.perSecond / ipx.perSecond)} | ${fmt(v.cpuMsPerImage, 0)} | ${fmt(v.benchCpuMsPerImage, 0)} | ${fmt(v.meanKb, 0)} | ${fmt(v.ssim, 4)} | ${v.name === 'ipx' ? '–' : v.sizeMismatches.length === 0 ? 'yes' : `no: ${v.sizeMismatches.join('; ')}`} |`,
      );
    }
    lines.push('');
    lines.push(
      `Where ipx does less: no auto-orient (${p.oriented} of these ${p.images} carry an EXIF orientation), a local file instead of a multipart body, and libvips' shrink-on-load (JPEG decoded at 1/2, 1/4 or 1/8 scale), which ours turns off for the lanczos kernel (no moiré).`,
    );
    lines.push('');
  }
  lines.push('| figure | measured | goal | met |');
  lines.push('|---|---|---|---|');
  if (p) {
    const ipx = p.variants.find((v) => v.name === 'ipx')!;
    const ours = p.variants.find((v) => v.name === p.defaultName)!;
    const equal = p.variants.find((v) => v.name === p.equalName)!;
    const ratio = median(p.pairedRatios);
    lines.push(
      `| 8. ours (defaults, drawing the mark) / ipx, img/s: median of the ${p.runs} runs' back-to-back pairs (${p.pairedRatios.map((r) => fmt(r)).join(', ')}; medians ${fmt(ours.perSecond)} / ${fmt(ipx.perSecond)}) | ${fmt(ratio)} | ≥ 1.2 | ${mark(ratio >= 1.2)} |`,
    );
    lines.push(`| 8. ours at ipx's settings (no mark, same encoder) / ipx, img/s | ${fmt(equal.perSecond / ipx.perSecond)} | – | – |`);
  }
  if (results.throughput) {
    const worst = Math.min(...results.throughput.rows.map((r) => r.ratio));
    lines.push(`| 2. nominal path / ceiling (worst size) | ${fmt(worst)} | ≥ 0.85 | ${mark(worst >= 0.85)} |`);
  }
  const c = results.cacheHit;
  if (c) {
    lines.push(
      `| 3. cache hit, ${fmt(c.imageKb / 1024, 1)} MB at ${c.connections}: req/s (bare express reading the body) | ${fmt(c.hit.perSecond, 0)} (${fmt(c.bare.perSecond, 0)}) → ratio ${fmt(c.ratio)} | – | – |`,
    );
    lines.push(
      `| 3. cache hit p99 at ${c.connections} (bare express) | ${fmt(c.hit.p99, 0)} ms (${fmt(c.bare.p99, 0)} ms) | ≤ 10 ms | ${mark(c.hit.p99 <= 10)} |`,
    );
    lines.push(
      `| 3. cache hit p50 / p99 at 1 connection (bare) | ${fmt(c.single.hitP50, 0)} / ${fmt(c.single.hitP99, 0)} ms (${fmt(c.single.bareP50, 0)} / ${fmt(c.single.bareP99, 0)} ms) | – | – |`,
    );
    lines.push(
      `| 3. bare express answering the hit's ${fmt(c.replyKb, 0)} KB: req/s, p99 | ${fmt(c.bareWithReply.perSecond, 0)}, ${fmt(c.bareWithReply.p99, 0)} ms | – | – |`,
    );
    const cpu = (e: { cpuMsPerRequest: Record<string, number> }) =>
      Object.entries(e.cpuMsPerRequest)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ');
    lines.push(
      `| 3. CPU ms per request: hit / bare / bare answering ${fmt(c.replyKb, 0)} KB | ${cpu(c.hit)} / ${cpu(c.bare)} / ${cpu(c.bareWithReply)} | – | – |`,
    );
    const hitCost = (c.hit.cpuMsPerRequest.server ?? NaN) / (c.bare.cpuMsPerRequest.server ?? NaN);
    lines.push(
      `| 3. api CPU per ${fmt(c.imageKb / 1024, 1)} MB hit / bare endpoint's | ${fmt(c.hit.cpuMsPerRequest.server ?? NaN)} / ${fmt(c.bare.cpuMsPerRequest.server ?? NaN)} ms = ${fmt(hitCost, 1)}× | ≤ 2.5× | ${mark(hitCost <= 2.5)} |`,
    );
    const s = c.single.cpuMsPerRequest;
    lines.push(
      `| 3. the same at 1 connection: api CPU per hit / bare / bare answering ${fmt(c.replyKb, 0)} KB | ${fmt(s.hit)} / ${fmt(s.bare)} / ${fmt(s.bareWithReply)} ms = ${fmt(s.hit / s.bare, 1)}× | – | – |`,
    );
  }
  const f = results.fallback;
  if (f) {
    for (const d of f.drains) {
      lines.push(
        `| 4. ${d.jobs} jobs of ${drainLabel(d)}: jobs/s / the optimizer's capacity measured right before | ${fmt(d.jobsPerSecond, 1)} / ${fmt(d.optimizerCapacity, 1)} → ratio ${fmt(d.ratio)} | ≥ 0.9 | ${mark(d.ratio >= 0.9)} |`,
      );
    }
    const goal = f.drains.find((d) => d.image !== f.imagePixels && d.workers === 2 && d.prefetch === 2);
    for (const d of f.maxEffortDrains) {
      lines.push(
        `| 4. ${d.jobs} jobs of ${drainLabel(d)} (the effort the goal was set with): jobs/s / capacity at that effort | ${fmt(d.jobsPerSecond, 1)} / ${fmt(d.optimizerCapacity, 1)} → ratio ${fmt(d.ratio)}; ${drainBound(d)} | – | – |`,
      );
    }
    if (goal) {
      lines.push(
        `| 4. ${goal.image} backlog drained by 2 workers at the default prefetch 2 / optimizer capacity | ${fmt(goal.ratio)} | ≥ 0.85 | ${mark(goal.ratio >= 0.85)} |`,
      );
      lines.push(`| 4. the same drain: machine busy; the highest ratio its CPU per job allows on ${goal.cores} cores | ${drainBound(goal)} | – | – |`);
    }
    const placed = f.placedDrain;
    if (placed?.placement) {
      lines.push(
        `| 4. the same drain with the optimizer on CPU ${placed.placement.optimizer} and everything else on ${placed.placement.others}, for the capacity too; machine busy; the highest ratio the other processes' CPU per job allows on their cores | ${fmt(placed.jobsPerSecond, 1)} / ${fmt(placed.optimizerCapacity, 1)} → ${fmt(placed.ratio)}; ${drainBound(placed)} | – | – |`,
      );
    }
    lines.push(
      `| 4. optimizer ready → first queued job done | ${fmt(f.recovery.readyToFirstDoneS)} s (${fmt(f.recovery.spawnToFirstDoneS)} s from its process start) | ≤ 2 s | ${mark(f.recovery.readyToFirstDoneS <= 2)} |`,
    );
  }
  const a = results.autoscaler;
  if (a) {
    lines.push(
      `| 5. backlog of ${a.backlog} announced by job.queued → scale decision (polling ${a.pollingIntervalS} s) | ${fmt(a.announced.toDecisionS)} s | ≤ 1 s | ${mark(a.announced.toDecisionS <= 1)} |`,
    );
    lines.push(`| 5. announced backlog → ${a.announced.desired} workers consuming | ${fmt(a.announced.toConsumingS)} s | – | – |`);
    lines.push(
      `| 5. the same backlog without events → scale decision (the poll alone) | ${fmt(a.polled.toDecisionS)} s | ≤ ${a.pollingIntervalS} s | ${mark(a.polled.toDecisionS <= a.pollingIntervalS)} |`,
    );
  }
  const mem = results.memory;
  if (mem) {
    lines.push(
      `| 6. api peak RSS, ${mem.connections} concurrent ${fmt(mem.uploadMb, 1)} MB uploads (${Object.entries(mem.statuses)
        .map(([s, n]) => `${n}×${s}`)
        .join(', ')}) | ${fmt(mem.apiPeakMb, 0)} MB (idle ${fmt(mem.apiIdleMb, 0)} MB) | ≤ 256 MB | ${mark(mem.apiPeakMb <= 256)} |`,
    );
  }
  const hung = results.hung;
  if (hung) {
    lines.push(
      `| 7. time to answer with the optimizer hung (SIGSTOP), ${hung.uploads} uploads at ${hung.connections} (${Object.entries(hung.statuses)
        .map(([s, n]) => `${n}×${s}`)
        .join(
          ', ',
        )}): p50 / p99 / max | ${fmt(hung.p50Ms, 0)} / ${fmt(hung.p99Ms, 0)} / ${fmt(hung.maxMs, 0)} ms | p99 ≤ 2000 ms | ${mark(hung.p99Ms <= 2000)} |`,
    );
  }
  if (results.throughput || mem) {
    lines.push(
      `| 6. optimizer peak RSS under load (throughput runs${mem ? `; 10 MB uploads: ${fmt(mem.optimizerPeakMb, 0)} MB` : ''}) | ${fmt(results.throughput?.optimizerPeakMb ?? NaN, 0)} MB | – | – |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const info = machine();
  log(`machine: ${info.cpus} cores, ${info.cpu}, load ${info.loadAtStart.join(' ')}${QUICK ? ' (BENCH_QUICK)' : ''}`);
  const runs = QUICK ? 1 : 3;
  const seconds = QUICK ? 2 : 4;
  const photos = await photographs(QUICK ? 4 : 8);
  log(photos.note);
  const sizes = await Promise.all([1, 4, 12, 24].map((mp) => generated(mp)));
  const sets: CorpusSet[] = [
    ...(photos.images.length > 0 ? [{ label: 'photographs', images: photos.images }] : []),
    ...sizes.map((image, i) => ({ label: `generated ${[1, 4, 12, 24][i]} MP`, images: [image] })),
  ];

  const world = new BenchWorld();
  const results: Parameters<typeof report>[0] = { machine: info, corpusNote: photos.note };
  try {
    await world.open();
    await world.startOptimizer({ LOG_LEVEL: 'warn' });
    await world.startApi();
    log('services up: s3, optimizer, api');

    if (wants('throughput')) {
      log('1-2. ceiling vs nominal path');
      results.throughput = await throughput(world, sets, { runs, seconds, log });
    }
    if (wants('peer')) {
      log('8. peer: ipx');
      // Five pairs: one run's ratio moves by 30 % or more with the machine's other load.
      results.peer = await peer(world, photos.images.length > 0 ? photos.images : [sizes[1]!, sizes[2]!, sizes[3]!], { runs: QUICK ? 1 : 5, seconds, log });
    }
    if (wants('cache')) {
      log('3. cache hit');
      results.cacheHit = await cacheHit(world, await imageOfSize(1e6, sizes[1]!), { runs, seconds: QUICK ? 3 : 5, log });
    }
    const small = { name: '640x480', data: await sharp(sizes[0]!.data).resize(640, 480).jpeg({ quality: 85 }).toBuffer(), width: 640, height: 480 };
    if (wants('fallback')) {
      log('4. fallback drain');
      results.fallback = await fallback(world, small, sizes[0]!, { jobs: QUICK ? 200 : 1000, largeJobs: QUICK ? 40 : 200, log });
    }
    if (wants('autoscaler')) {
      log('5. autoscaler');
      // Long enough that one worker cannot drain it before a poll comes (about 65 small jobs/s).
      results.autoscaler = await autoscaler(world, small, { backlog: 1000, log });
    }
    if (wants('memory')) {
      log('6. memory');
      results.memory = await memory(world, await imageOfSize(10e6, await generated(32)), { uploads: QUICK ? 32 : 64, log });
    }
    // Last: it leaves the api's circuit open for a moment and jobs in the queue.
    if (wants('hung')) {
      log('7. hung optimizer');
      results.hung = await hungOptimizer(world, small, { uploads: QUICK ? 24 : 48, log });
    }
  } finally {
    await world.close();
  }
  results.machine.loadAtEnd = loadavg().map((l) => Number(l.toFixed(2)));
  const table = report(results);
  console.log(`\n${table}\n`);
  mkdirSync('.data', { recursive: true });
  const file = join('.data', 'bench-results.json');
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), quick: QUICK, commit: gitCommit(), ...results, table }, null, 2));
  log(`wrote ${file}`);
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
