/**
 * HTTP client of the optimizer, shared by the api and the worker. It never throws for the
 * optimizer's own failures: every call ends in one outcome of the metrics contract, and callers
 * decide (the api falls back to the queue, the worker retries or dead-letters).
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhenResult, type CircuitBreakerPolicy } from 'cockatiel';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch, request } from 'undici';
import type { WatermarkSettings } from './contracts/watermark-settings.js';
import { problemDocumentSchema } from './contracts/problems.js';
import type { CommonConfig } from './config.js';
import type { OptimizerCaller, OptimizerCallMetrics } from './metrics.js';
import { errorMessage } from './errors.js';
import { OptimizerHealth } from './optimizer-health.js';

export type OptimizeResult =
  | { outcome: 'ok'; data: Buffer; contentType: string }
  /** The optimizer judged the image itself bad (422/415/413/400): permanent, never retried. */
  | { outcome: 'rejected'; status: number; detail: string }
  /** Refused, reset, 503-saturated or another 5xx (`status` set when it answered at all). */
  | { outcome: 'unavailable'; detail: string; status?: number }
  | { outcome: 'timeout'; detail: string };

export interface CircuitOptions {
  /** Consecutive unavailable/timeout outcomes that open the circuit. */
  consecutiveFailures: number;
  /** How long the circuit stays open before one half-open probe call is let through. */
  halfOpenAfterMs: number;
}

export interface OptimizerClientOptions {
  baseUrl: string;
  /** Deadline of an /optimize call. */
  timeoutMs: number;
  /** Deadline of the quick questions: /readyz and /healthz. */
  probeTimeoutMs: number;
  caller: OptimizerCaller;
  metrics?: OptimizerCallMetrics;
  /** With a circuit, calls fail at once while the optimizer is known down instead of each waiting for a timeout. */
  circuit?: CircuitOptions;
  /** With a health probe, a call is given up once it and the optimizer's silence both outlast `stallMs`. */
  health?: HealthOptions;
}

export interface HealthOptions {
  /** How often the optimizer's /healthz is asked. */
  intervalMs: number;
  /** Silence of the optimizer, and age of a call, past which the call is given up. */
  stallMs: number;
}

/** The client as the api and the worker configure it from their common variables; only the api has a circuit. */
export function createOptimizerClient(
  config: Pick<CommonConfig, 'OPTIMIZER_URL' | 'OPTIMIZER_TIMEOUT_MS' | 'OPTIMIZER_PROBE_TIMEOUT_MS'>,
  caller: OptimizerCaller,
  metrics: OptimizerCallMetrics,
  guards: { circuit?: CircuitOptions; health?: HealthOptions } = {},
): OptimizerClient {
  return new OptimizerClient({
    baseUrl: config.OPTIMIZER_URL,
    timeoutMs: config.OPTIMIZER_TIMEOUT_MS,
    probeTimeoutMs: config.OPTIMIZER_PROBE_TIMEOUT_MS,
    caller,
    metrics,
    ...guards,
  });
}

/**
 * The head of a `POST /optimize` body, up to the image's bytes: the `settings` field first (a UTF-8
 * text field: JSON escapes every line break, so it cannot hold the boundary's line), then the
 * `image` part's headers. The optimizer's `default` applies without settings.
 */
export function optimizeRequestHead(boundary: string, filename: string, contentType: string, settings?: WatermarkSettings): string {
  const settingsPart = settings
    ? `--${boundary}\r\nContent-Disposition: form-data; name="settings"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(settings)}\r\n`
    : '';
  return `${settingsPart}--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${escapeQuoted(filename)}"\r\nContent-Type: ${contentType}\r\n\r\n`;
}

export class OptimizerClient {
  // Keep-alive: one TCP connection reused across calls instead of a handshake per image.
  private readonly dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 32 });

  private readonly breaker: CircuitBreakerPolicy | undefined;
  private readonly health: OptimizerHealth | undefined;

  constructor(private readonly options: OptimizerClientOptions) {
    if (options.health) {
      const { stallMs } = options.health;
      // /healthz, not /readyz: whether the process answers at all, within the stall bound.
      this.health = new OptimizerHealth({
        ...options.health,
        probe: (signal) => this.answers('/healthz', AbortSignal.any([signal, AbortSignal.timeout(stallMs)])),
      });
      this.health.start();
    }
    if (options.circuit) {
      // Only the optimizer being unreachable or slow trips the circuit; a rejected image is an answer.
      const failure = handleWhenResult((r) => isOptimizeResult(r) && (r.outcome === 'unavailable' || r.outcome === 'timeout'));
      this.breaker = circuitBreaker(failure, {
        breaker: new ConsecutiveBreaker(options.circuit.consecutiveFailures),
        halfOpenAfter: options.circuit.halfOpenAfterMs,
      });
      options.metrics?.circuitOpen.set(0);
      this.breaker.onStateChange((state) => options.metrics?.circuitOpen.set(state === CircuitState.Closed ? 0 : 1));
    }
  }

  /** `settings`: the effective settings the api resolved, sent as the `settings` field; the optimizer's `default` without them. */
  async optimize(image: Buffer, filename: string, contentType: string, settings?: WatermarkSettings): Promise<OptimizeResult> {
    const result = await this.guarded(() => this.call(image, filename, contentType, settings));
    this.options.metrics?.calls.inc({ caller: this.options.caller, outcome: result.outcome });
    return result;
  }

  private async guarded(call: () => Promise<OptimizeResult>): Promise<OptimizeResult> {
    if (!this.breaker) return call();
    try {
      return await this.breaker.execute(call);
    } catch (err) {
      if (err instanceof BrokenCircuitError) return { outcome: 'unavailable', detail: 'optimizer circuit open: recent calls failed' };
      throw err;
    }
  }

  /** True when the optimizer answers its readiness probe within a short deadline. */
  async isReady(): Promise<boolean> {
    return this.answers('/readyz', AbortSignal.timeout(this.options.probeTimeoutMs));
  }

  /** True when `path` answers 2xx before `signal` aborts. */
  private async answers(path: string, signal: AbortSignal): Promise<boolean> {
    try {
      const res = await undiciFetch(new URL(path, this.options.baseUrl), { dispatcher: this.dispatcher, signal });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.health?.stop();
    await this.dispatcher.close();
  }

  /**
   * A signal that aborts once the call has run `stallMs` while the optimizer answers no probe,
   * checked at each probe interval; `stop` when the call has ended.
   */
  private stallWatch(): { signal: AbortSignal; stalled: () => boolean; stop: () => void } | undefined {
    const health = this.health;
    const options = this.options.health;
    if (!health || !options) return undefined;
    const startedAt = health.now;
    const controller = new AbortController();
    const timer = setInterval(
      () => {
        if (health.abandons(startedAt)) controller.abort();
      },
      Math.min(options.intervalMs, options.stallMs),
    );
    return { signal: controller.signal, stalled: () => controller.signal.aborted, stop: () => clearInterval(timer) };
  }

  private async call(image: Buffer, filename: string, contentType: string, settings: WatermarkSettings | undefined): Promise<OptimizeResult> {
    // The multipart body is streamed as [head, image, tail] with its length: no copy of the image
    // (FormData + Blob copied it, then cloned every chunk through web streams).
    const boundary = `----nws-watermark-${randomBytes(12).toString('hex')}`;
    const head = Buffer.from(optimizeRequestHead(boundary, filename, contentType, settings));
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const stall = this.stallWatch();
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      return await this.send(boundary, [head, image, tail], stall ? AbortSignal.any([timeout, stall.signal]) : timeout, () => stall?.stalled() ?? false);
    } finally {
      stall?.stop();
    }
  }

  private async send(boundary: string, parts: Buffer[], signal: AbortSignal, stalled: () => boolean): Promise<OptimizeResult> {
    const failed = (err: unknown): OptimizeResult =>
      stalled()
        ? { outcome: 'timeout', detail: `optimizer stopped answering its health probe: call given up after ${this.options.health?.stallMs ?? 0} ms` }
        : classifyNetworkError(err, this.options.timeoutMs);
    let res;
    try {
      res = await request(new URL('/optimize', this.options.baseUrl), {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(parts.reduce((sum, part) => sum + part.length, 0)) },
        body: Readable.from(parts, { objectMode: false }),
        dispatcher: this.dispatcher,
        signal,
      });
    } catch (err) {
      return failed(err);
    }
    try {
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode === 200) {
        return {
          outcome: 'ok',
          data: body,
          contentType: header(res.headers['content-type']) ?? 'application/octet-stream',
        };
      }
      const detail = problemDetail(body) ?? `optimizer answered ${res.statusCode}`;
      if (res.statusCode === 422 || res.statusCode === 413 || res.statusCode === 400 || res.statusCode === 415) {
        return { outcome: 'rejected', status: res.statusCode, detail };
      }
      return { outcome: 'unavailable', detail, status: res.statusCode };
    } catch (err) {
      return failed(err);
    }
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** As browsers and FormData do for a filename in Content-Disposition. */
function escapeQuoted(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

function isOptimizeResult(value: unknown): value is OptimizeResult {
  return typeof value === 'object' && value !== null && 'outcome' in value;
}

function classifyNetworkError(err: unknown, timeoutMs: number): OptimizeResult {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { outcome: 'timeout', detail: `optimizer did not answer within ${timeoutMs} ms` };
  }
  // fetch rejects with a bare "fetch failed": the network error that says why is its cause.
  const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : '';
  return { outcome: 'unavailable', detail: `optimizer unreachable: ${cause || errorMessage(err)}` };
}

const problemDetailSchema = problemDocumentSchema.pick({ detail: true });

/** The optimizer's problem+json detail, passed on to whoever asked; only the detail is relied upon. */
function problemDetail(body: Buffer): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  return problemDetailSchema.safeParse(parsed).data?.detail;
}
