/**
 * The one back-off rule of the code base: a table of delays indexed by how many times in a row
 * something failed, the last delay repeating for ever after. The broker reconnection, the process
 * supervisor, the QueueScaler informer and the worker's retry policy each keep their own table.
 */

/**
 * The delay for the `attempt`-th retry (0 = the first), from `delays`; past the end of the table the
 * last delay repeats, and a negative attempt counts as the first. An empty table, which a caller's
 * options allow, gives `whenEmptyMs`: each caller says what it falls back on.
 */
export function backoffDelay(delays: readonly number[], attempt: number, whenEmptyMs: number): number {
  const index = Math.min(Math.max(Math.floor(attempt), 0), delays.length - 1);
  return delays[index] ?? whenEmptyMs;
}
