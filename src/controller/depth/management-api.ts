/**
 * Queue depth from the RabbitMQ management HTTP API (GET /api/queues/{vhost}/{queue}): ready and
 * unacked counts, which AMQP alone cannot give. The numbers are as fresh as the broker's
 * statistics interval (collect_statistics_interval, 5 s by default): a queue declared a moment ago
 * is a 404 until they catch up. Each error says whether the API answered, and what.
 * Beside the queue it lists the queue's retry delay queues (`<queue>.delay.<ms>ms`, topology.ts):
 * their messages are the `retrying` count, which only this source can see (AMQP cannot list).
 */
import { z } from 'zod';
import { QueueNotFoundError, type DepthSource, type QueueDepth, type QueueRef } from './depth-source.js';
import { errorMessage } from '../../shared/errors.js';

export interface ManagementApiOptions {
  /** e.g. http://guest:guest@127.0.0.1:15672; credentials in the URL become basic auth. */
  url: string;
  timeoutMs?: number;
  /** The HTTP client; tests pass a fake. */
  fetch?: typeof fetch;
}

/**
 * The part of RabbitMQ's queue object we read. The counts are absent until the statistics
 * collector has reported on the queue; anything else of the wrong type is not counts at all.
 */
const QueueInfoSchema = z.object({
  messages_ready: z.number().int().nonnegative().optional(),
  messages_unacknowledged: z.number().int().nonnegative().optional(),
  consumers: z.number().int().nonnegative().optional(),
});

/** The page of queues a name filter returns (the filter applies only to paged requests). */
const QueuePageSchema = z.object({ items: z.array(z.object({ messages: z.number().int().nonnegative().optional() })) });

/** The delay queues of `queue`, as topology.ts names them, as a management API name regex. */
export function delayQueuePattern(queue: string): string {
  return `^${queue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.delay\\.\\d+ms$`;
}

export class ManagementApiDepth implements DepthSource {
  private readonly base: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: ManagementApiOptions) {
    const url = new URL(options.url);
    this.authorization = url.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.fetch = options.fetch ?? fetch;
  }

  async read(ref: QueueRef): Promise<QueueDepth> {
    const [depth, retrying] = await Promise.all([this.readQueue(ref), this.readRetrying(ref)]);
    return retrying === undefined ? depth : { ...depth, retrying };
  }

  /** Messages waiting in the retry delay queues; undefined when they cannot be listed (never a read failure). */
  private async readRetrying(ref: QueueRef): Promise<number | undefined> {
    const query = new URLSearchParams({ page: '1', page_size: '500', use_regex: 'true', name: delayQueuePattern(ref.queue), columns: 'name,messages' });
    try {
      const res = await this.fetch(`${this.base}/api/queues/${encodeURIComponent(ref.vhost)}?${query.toString()}`, {
        headers: this.headers(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) return undefined;
      const parsed = QueuePageSchema.safeParse(await res.json().catch(() => undefined));
      return parsed.success ? parsed.data.items.reduce((sum, q) => sum + (q.messages ?? 0), 0) : undefined;
    } catch {
      return undefined; // the queue read says what is wrong with the API; this count is only shown
    }
  }

  private headers(): Record<string, string> {
    return { accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) };
  }

  private async readQueue(ref: QueueRef): Promise<QueueDepth> {
    const url = `${this.base}/api/queues/${encodeURIComponent(ref.vhost)}/${encodeURIComponent(ref.queue)}`;
    const where = `queue "${ref.queue}" in vhost "${ref.vhost}"`;
    let res: Response;
    try {
      res = await this.fetch(url, {
        headers: this.headers(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(`the management API did not answer for ${where} (${this.failure(err)})`, { cause: err });
    }
    if (res.status === 404) {
      throw new QueueNotFoundError(
        ref,
        'management API',
        `the management API answered 404 for ${where}: its statistics may not have caught up yet, or the queue does not exist`,
      );
    }
    if (!res.ok) throw new Error(`the management API answered ${res.status} for ${where}`);
    const parsed = QueueInfoSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new Error(`the management API answered for ${where} with something that is not a queue's statistics`);
    const info = parsed.data;
    // A queue the stats collector has not reported on yet has no counts: not known, not zero.
    if (info.messages_ready === undefined || info.messages_unacknowledged === undefined) {
      throw new Error(`the management API answered for ${where} without message counts: its statistics have not caught up yet`);
    }
    return {
      ready: info.messages_ready,
      unacked: info.messages_unacknowledged,
      consumers: info.consumers,
      source: 'management API',
    };
  }

  async close(): Promise<void> {
    // fetch keeps no connection of its own to close
  }

  /** Why a request got no answer: the timeout, or the network error under fetch's "fetch failed". */
  private failure(err: unknown): string {
    if (!(err instanceof Error)) return errorMessage(err);
    if (err.name === 'TimeoutError') return `no answer within ${this.timeoutMs} ms`;
    return err.cause === undefined ? err.message : `${err.message}: ${errorMessage(err.cause)}`;
  }
}
