/**
 * Scenario 7: the optimizer hangs (SIGSTOP: its socket still accepts, nothing answers) while
 * uploads keep coming, 8 at a time; each one's time to its answer is measured. The api's health
 * view gives up the calls in flight after OPTIMIZER_STALL_MS of silence, then its circuit answers
 * the next ones at once. Before the health view, the first uploads waited the whole
 * OPTIMIZER_TIMEOUT_MS (15 s) for their 202.
 */
import { waitReady } from '../../helpers/processes.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { runLoad } from '../load.js';
import type { BenchWorld } from '../world.js';

export interface HungOptimizerResult {
  uploads: number;
  connections: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const CONNECTIONS = 8;

export async function hungOptimizer(world: BenchWorld, image: CorpusImage, opts: { uploads: number; log: (s: string) => void }): Promise<HungOptimizerResult> {
  const api = world.services.get('api')!;
  const optimizer = world.services.get('optimizer')!;
  process.kill(optimizer.pid, 'SIGSTOP');
  try {
    const run = await runLoad({
      url: `${api.url}/upload`,
      connections: CONNECTIONS,
      amount: opts.uploads,
      headers: { 'content-type': MULTIPART_TYPE },
      body: () => multipartBody(distinct(image.data)),
      timeoutS: 60,
    });
    const result = { uploads: run.requests, connections: CONNECTIONS, statuses: run.statuses, p50Ms: run.p50, p99Ms: run.p99, maxMs: run.max };
    opts.log(
      `  hung optimizer: ${run.requests} uploads, ${JSON.stringify(run.statuses)}, time to answer p50 ${run.p50.toFixed(0)} ms, p99 ${run.p99.toFixed(0)} ms, max ${run.max.toFixed(0)} ms`,
    );
    return result;
  } finally {
    process.kill(optimizer.pid, 'SIGCONT');
    await waitReady(optimizer.url);
  }
}
