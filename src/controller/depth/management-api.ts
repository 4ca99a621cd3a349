/**
 * Queue depth from the RabbitMQ management HTTP API (GET /api/queues/{vhost}/{queue}): ready and
 * unacked counts, which AMQP alone cannot give. The numbers are as fresh as the broker's
 * statistics interval (collect_statistics_interval, 5 s by default).
 */
import { QueueNotFoundError, type DepthSource, type QueueDepth, type QueueRef } from './depth-source.js';

export interface ManagementApiOptions {
  /** e.g. http://guest:guest@127.0.0.1:15672; credentials in the URL become basic auth. */
  url: string;
  timeoutMs?: number;
}

interface QueueInfo {
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
}

export class ManagementApiDepth implements DepthSource {
  private readonly base: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ManagementApiOptions) {
    const url = new URL(options.url);
    this.authorization = url.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 3_000;
  }

  async read(ref: QueueRef): Promise<QueueDepth> {
    const url = `${this.base}/api/queues/${encodeURIComponent(ref.vhost)}/${encodeURIComponent(ref.queue)}`;
    const res = await fetch(url, {
      headers: { accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status === 404) throw new QueueNotFoundError(ref, 'management API');
    if (!res.ok) throw new Error(`management API answered ${res.status} for ${ref.vhost}/${ref.queue}`);
    const info = (await res.json()) as QueueInfo;
    // A queue the stats collector has not reported on yet has no counts: not known, not zero.
    if (typeof info.messages_ready !== 'number' || typeof info.messages_unacknowledged !== 'number') {
      throw new Error(`management API has no message counts yet for ${ref.vhost}/${ref.queue}`);
    }
    return {
      ready: info.messages_ready,
      unacked: info.messages_unacknowledged,
      consumers: info.consumers,
      source: 'management API',
    };
  }

  async close(): Promise<void> {}
}
