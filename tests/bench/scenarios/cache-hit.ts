/**
 * Scenario 3: the same 1 MB image uploaded again and again at 32 concurrent (every request a cache
 * hit after the first), against a bare express endpoint that only reads the same body, run after
 * run alternately. A second bare endpoint also answers as many bytes as the cached image: the
 * difference between the two is what sending a hit back costs, the rest is the api's own work.
 * CPU per request is measured for the server, the load generator and Redis. Also at 1 connection,
 * where latency is the path's own and not queueing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../helpers/harness.js';
import { waitReady } from '../../helpers/processes.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { median, runLoad, type LoadResult } from '../load.js';
import { CpuMeter, daemonPids } from '../cpu.js';
import type { BenchWorld } from '../world.js';

interface Endpoint {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU milliseconds per request: `server`, `bench` (the load generator), and Redis for the api. */
  cpuMsPerRequest: Record<string, number>;
}

export interface CacheHitResult {
  imageKb: number;
  replyKb: number;
  connections: number;
  hit: Endpoint;
  bare: Endpoint;
  bareWithReply: Endpoint;
  ratio: number;
  single: { hitP50: number; hitP99: number; bareP50: number; bareP99: number; cpuMsPerRequest: { hit: number; bare: number; bareWithReply: number } };
  non200: number;
}

const CONNECTIONS = 32;

async function startBare(replyBytes: number): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bare-server.mjs', import.meta.url))], {
    env: { ...process.env, PORT: String(port), REPLY_BYTES: String(replyBytes) },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return { url, child };
}

export async function cacheHit(
  world: BenchWorld,
  image: CorpusImage,
  opts: { runs: number; seconds: number; log: (s: string) => void },
): Promise<CacheHitResult> {
  const api = world.services.get('api')!;
  const body = multipartBody(distinct(image.data));
  const first = await fetch(`${api.url}/upload`, { method: 'POST', headers: { 'content-type': MULTIPART_TYPE }, body: body as Uint8Array<ArrayBuffer> });
  const replyBytes = (await first.arrayBuffer()).byteLength;
  if (first.status !== 200) throw new Error(`the first upload of the cache-hit image answered ${first.status}`);
  const bare = await startBare(0);
  const bareWithReply = await startBare(replyBytes);
  try {
    const targets = [
      { name: 'hit', url: api.url, pid: api.pid, daemons: daemonPids() },
      { name: 'bare', url: bare.url, pid: bare.child.pid!, daemons: {} },
      { name: 'bareWithReply', url: bareWithReply.url, pid: bareWithReply.child.pid!, daemons: {} },
    ] as const;
    const load = (url: string, connections: number, seconds: number) =>
      runLoad({ url: `${url}/upload`, connections, durationS: seconds, headers: { 'content-type': MULTIPART_TYPE }, body: () => body });
    for (const target of targets) await load(target.url, CONNECTIONS, 2); // warm-up
    const runs: Record<string, (LoadResult & { cpu: Record<string, number> })[]> = { hit: [], bare: [], bareWithReply: [] };
    for (let run = 0; run < opts.runs; run += 1) {
      for (const target of targets) {
        const meter = new CpuMeter({ server: target.pid, bench: process.pid, ...target.daemons });
        const result = await load(target.url, CONNECTIONS, opts.seconds);
        runs[target.name]!.push({ ...result, cpu: meter.perUnit(Math.max(1, result.requests)) });
      }
      const line = targets.map((t) => {
        const r = runs[t.name]!.at(-1)!;
        return `${t.name} ${r.perSecond.toFixed(0)} req/s p99 ${r.p99.toFixed(0)} ms, CPU ms/request ${Object.entries(r.cpu)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(' ')}`;
      });
      opts.log(`  cache hit run ${run + 1}: ${line.join('; ')} ${JSON.stringify(runs.hit!.at(-1)!.statuses)}`);
    }
    // At 1 connection too: one request per wakeup on both sides, so neither server's cost is
    // shared out over a batch of reads the way it is at 32 (the bare endpoint's most of all).
    const single = async (target: (typeof targets)[number]) => {
      const meter = new CpuMeter({ server: target.pid });
      const result = await load(target.url, 1, opts.seconds);
      return { ...result, cpuMs: meter.perUnit(Math.max(1, result.requests)).server! };
    };
    const singleHit = await single(targets[0]);
    const singleBare = await single(targets[1]);
    const singleBareWithReply = await single(targets[2]);
    const summary = (r: (LoadResult & { cpu: Record<string, number> })[]): Endpoint => ({
      perSecond: median(r.map((x) => x.perSecond)),
      p50: median(r.map((x) => x.p50)),
      p99: median(r.map((x) => x.p99)),
      cpuMsPerRequest: Object.fromEntries(Object.keys(r[0]!.cpu).map((k) => [k, median(r.map((x) => x.cpu[k]!))])),
    });
    return {
      imageKb: image.data.length / 1024,
      replyKb: replyBytes / 1024,
      connections: CONNECTIONS,
      hit: summary(runs.hit!),
      bare: summary(runs.bare!),
      bareWithReply: summary(runs.bareWithReply!),
      ratio: median(runs.hit!.map((h, i) => h.perSecond / runs.bare![i]!.perSecond)),
      single: {
        hitP50: singleHit.p50,
        hitP99: singleHit.p99,
        bareP50: singleBare.p50,
        bareP99: singleBare.p99,
        cpuMsPerRequest: { hit: singleHit.cpuMs, bare: singleBare.cpuMs, bareWithReply: singleBareWithReply.cpuMs },
      },
      non200: runs.hit!.reduce((s, h) => s + h.requests - (h.statuses['200'] ?? 0), 0),
    };
  } finally {
    bare.child.kill('SIGTERM');
    bareWithReply.child.kill('SIGTERM');
  }
}
