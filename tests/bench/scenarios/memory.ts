/**
 * Scenario 6: the api's peak resident memory while 32 clients each upload a distinct 10 MB image
 * (every one a miss: stored, sent to the optimizer, or queued when it is saturated), read from the
 * kernel (VmHWM of a freshly started api, reset just before). The optimizer's peak under load comes from the throughput runs.
 */
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { runLoad } from '../load.js';
import { resetPeak, rss } from '../cpu.js';
import type { BenchWorld } from '../world.js';

export interface MemoryResult {
  uploadMb: number;
  connections: number;
  uploads: number;
  statuses: Record<string, number>;
  apiIdleMb: number;
  apiPeakMb: number;
  optimizerPeakMb: number;
}

export async function memory(world: BenchWorld, image: CorpusImage, opts: { uploads: number; log: (s: string) => void }): Promise<MemoryResult> {
  // A fresh api, so its peak is this scenario's and not the heap earlier scenarios grew.
  await world.stop('api');
  const api = await world.startApi();
  const optimizer = world.services.get('optimizer')!;
  const idle = rss(api.pid).rssMb;
  resetPeak(api.pid);
  resetPeak(optimizer.pid);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(api.pid).rssMb);
  }, 20);
  const result = await runLoad({
    url: `${api.url}/upload`,
    connections: 32,
    amount: opts.uploads,
    timeoutS: 120,
    headers: { 'content-type': MULTIPART_TYPE },
    body: () => multipartBody(distinct(image.data)),
  });
  clearInterval(sampler);
  const apiPeakMb = Math.max(peak, rss(api.pid).peakMb);
  const optimizerPeakMb = rss(optimizer.pid).peakMb;
  opts.log(
    `  ${opts.uploads} uploads of ${(image.data.length / 1e6).toFixed(1)} MB at 32: ${JSON.stringify(result.statuses)}; api peak ${apiPeakMb.toFixed(0)} MB (idle ${idle.toFixed(0)} MB), optimizer peak ${optimizerPeakMb.toFixed(0)} MB`,
  );
  await world.purge(RETRY_QUEUE);
  return { uploadMb: image.data.length / 1e6, connections: 32, uploads: opts.uploads, statuses: result.statuses, apiIdleMb: idle, apiPeakMb, optimizerPeakMb };
}
