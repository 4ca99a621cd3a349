/**
 * How a service process is started: `node <flags> bin/nws-watermark.js <component>`. Every service
 * process started from this repository gets its command line from `serviceArgs`: the local stack,
 * the workers the local controller spawns, and in the tests `spawnComponent` (integration, bench,
 * observability) and the chaos world. The bench's ceiling is no service, only the optimizer's
 * pipeline in a fork: it takes SERVICE_NODE_FLAGS. The container image's ENTRYPOINT carries the same
 * flags (a unit test compares them), so what is tested and measured is what ships.
 */
import { fileURLToPath } from 'node:url';

/**
 * V8 starts a full mark-compact when a heap's old generation plus the ArrayBuffer memory allocated
 * since the last one passes a limit it derives from the live heap. Our heaps are small (about 25 MB)
 * and every request moves Buffers of hundreds of KB to MB (uploads, results, socket reads), so the
 * api ran a mark-compact every 6 cache hits, a third of its CPU. An initial old space of 64 MB
 * raises that limit; the garbage it lets wait is bounded by it.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The package's executable (src/shared and dist/shared are at the same depth). */
const CLI = fileURLToPath(new URL('../../bin/nws-watermark.js', import.meta.url));

/** Arguments for `process.execPath` that start `component`; `nodeArgs` (e.g. `--cpu-prof`) go to node too. */
export function serviceArgs(component: string, nodeArgs: readonly string[] = []): string[] {
  return [...SERVICE_NODE_FLAGS, ...nodeArgs, CLI, component];
}
