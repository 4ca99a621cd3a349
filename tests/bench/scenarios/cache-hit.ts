/**
 * Scenario 3: the same 1 MB image uploaded again and again at 32 concurrent (every request a cache
 * hit after the first), against a bare express endpoint that only reads the same body, run after
 * run alternately. Also at 1 connection, where latency is the path's own and not queueing.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../helpers/harness.js';
import { waitReady } from '../../helpers/processes.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { median, runLoad, type LoadResult } from '../load.js';
import type { BenchWorld } from '../world.js';

export interface CacheHitResult {
  imageKb: number;
  connections: number;
  hit: { perSecond: number; p50: number; p99: number };
  bare: { perSecond: number; p50: number; p99: number };
  ratio: number;
  single: { hitP50: number; hitP99: number; bareP50: number; bareP99: number };
  non200: number;
}

const CONNECTIONS = 32;

export async function cacheHit(world: BenchWorld, image: CorpusImage, opts: { runs: number; seconds: number; log: (s: string) => void }): Promise<CacheHitResult> {
  const api = world.services.get('api')!;
  const port = await freePort();
  const bare = spawn(process.execPath, [fileURLToPath(new URL('../bare-server.mjs', import.meta.url))], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  const bareUrl = `http://127.0.0.1:${port}`;
  try {
    await waitReady(bareUrl);
    const body = multipartBody(distinct(image.data));
    const first = await fetch(`${api.url}/upload`, { method: 'POST', headers: { 'content-type': MULTIPART_TYPE }, body: body as Uint8Array<ArrayBuffer> });
    await first.arrayBuffer();
    if (first.status !== 200) throw new Error(`the first upload of the cache-hit image answered ${first.status}`);
    const load = (url: string, connections: number, seconds: number) =>
      runLoad({ url: `${url}/upload`, connections, durationS: seconds, headers: { 'content-type': MULTIPART_TYPE }, body: () => body });
    // Warm-up of both.
    await load(api.url, CONNECTIONS, 2);
    await load(bareUrl, CONNECTIONS, 2);
    const hits: LoadResult[] = [];
    const bares: LoadResult[] = [];
    for (let run = 0; run < opts.runs; run += 1) {
      hits.push(await load(api.url, CONNECTIONS, opts.seconds));
      bares.push(await load(bareUrl, CONNECTIONS, opts.seconds));
      opts.log(`  cache hit run ${run + 1}: api ${hits.at(-1)!.perSecond.toFixed(0)} req/s p99 ${hits.at(-1)!.p99} ms ${JSON.stringify(hits.at(-1)!.statuses)}; bare ${bares.at(-1)!.perSecond.toFixed(0)} req/s p99 ${bares.at(-1)!.p99} ms`);
    }
    const singleHit = await load(api.url, 1, opts.seconds);
    const singleBare = await load(bareUrl, 1, opts.seconds);
    const summary = (r: LoadResult[]) => ({ perSecond: median(r.map((x) => x.perSecond)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)) });
    const hit = summary(hits);
    const bareSummary = summary(bares);
    return {
      imageKb: image.data.length / 1024,
      connections: CONNECTIONS,
      hit,
      bare: bareSummary,
      ratio: median(hits.map((h, i) => h.perSecond / bares[i]!.perSecond)),
      single: { hitP50: singleHit.p50, hitP99: singleHit.p99, bareP50: singleBare.p50, bareP99: singleBare.p99 },
      non200: hits.reduce((s, h) => s + h.requests - (h.statuses['200'] ?? 0), 0),
    };
  } finally {
    bare.kill('SIGTERM');
  }
}
