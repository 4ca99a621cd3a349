/**
 * The Node flags every service process runs with: the local stack, the container image's
 * entrypoint (Dockerfile, checked by tests/container), the tests and the bench all start services
 * with these, so what is measured is what ships.
 *
 * V8 starts a full mark-compact when a heap's old generation plus the ArrayBuffer memory allocated
 * since the last one passes a limit it derives from the live heap. Our heaps are small (about 25 MB)
 * and every request moves Buffers of hundreds of KB to MB (uploads, results, socket reads), so the
 * api ran a mark-compact every 6 cache hits, a third of its CPU. An initial old space of 64 MB
 * raises that limit; the garbage it lets wait is bounded by it.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];
