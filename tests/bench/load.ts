/**
 * The load generator: autocannon, driven programmatically so every request can carry its own body
 * (`setupRequest`), which distinct-image cache-miss runs need. Latencies are recorded per response
 * from autocannon's `response` event, so p95 is exact (autocannon's summary has p90/p97.5, no p95),
 * and status codes are counted, so a run that fell back to 202 is visible instead of being counted
 * as served.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Requests to make (the run ends when all answered); or `durationS`. */
  amount?: number;
  durationS?: number;
  headers?: Record<string, string>;
  /** A body per request; omitted: a GET. */
  body?: () => Buffer;
  /** A path per request (a GET of many files); omitted: the url's. */
  path?: () => string;
  timeoutS?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * autocannon keeps every response body as a string (`req.body += chunk` in its
 * pipelinedRequestsQueue.js), so it UTF-8-decodes each binary image it receives: 12 ms of the load
 * generator's CPU per 672 KB JPEG, on the same cores as the servers it measures (a body of one
 * repeated byte, as the bare endpoint sent, decodes fast and hid it). Nothing here reads a body,
 * so each client keeps none. autocannon has no option for it: this replaces the queue's method.
 */
function keepNoBody(client: autocannon.Client): void {
  const queue = (client as unknown as { pipelinedRequests?: { addBody?: unknown } }).pipelinedRequests;
  if (typeof queue?.addBody !== 'function') throw new Error('autocannon changed: its client has no pipelinedRequests.addBody to replace');
  queue.addBody = () => undefined;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { url, connections, amount, durationS, headers = {}, body, path, timeoutS = 60 } = options;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = process.hrtime.bigint();
  let lastResponse = started;
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...(amount ? { amount } : { duration: durationS ?? 5 }),
        timeout: timeoutS,
        setupClient: keepNoBody,
        method: body ? 'POST' : 'GET',
        headers,
        ...(body ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] } : {}),
        ...(path ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) }] } : {}),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          return;
        }
        // autocannon notices that `amount` is reached only on its next one-second tick: time the run
        // to its last response, not to the callback, or short runs are rounded up to whole seconds.
        const seconds = Number((amount ? lastResponse : process.hrtime.bigint()) - started) / 1e9;
        latencies.sort((a, b) => a - b);
        resolve({
          requests: latencies.length,
          seconds,
          perSecond: latencies.length / seconds,
          statuses,
          errors: result.errors + result.timeouts,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
          max: latencies.at(-1) ?? NaN,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      lastResponse = process.hrtime.bigint();
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}
