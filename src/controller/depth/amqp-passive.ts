/**
 * Queue depth over AMQP with a passive declare (checkQueue): live, but ready messages only —
 * the broker does not report unacked ones this way. One connection per vhost, opened on first
 * use and reopened after a failure.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { QueueNotFoundError, type DepthSource, type QueueDepth, type QueueRef } from './depth-source.js';
import { errorMessage } from '../../shared/errors.js';

export class AmqpPassiveDepth implements DepthSource {
  private readonly connections = new Map<string, Promise<ChannelModel>>();

  /** @param url broker URL; its vhost is replaced by the one each read asks for. */
  constructor(private readonly url: string) {}

  async read(ref: QueueRef): Promise<QueueDepth> {
    const connection = await this.connection(ref.vhost);
    // A passive declare of a missing queue closes the channel with 404, so each read gets its own.
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      const info = await channel.checkQueue(ref.queue);
      return {
        ready: info.messageCount,
        unacked: undefined,
        unackedUnknown: 'an AMQP passive declare does not count unacked messages',
        consumers: info.consumerCount,
        source: 'AMQP passive declare',
      };
    } catch (err) {
      if (/NOT_FOUND|404/.test(errorMessage(err))) throw new QueueNotFoundError(ref, 'AMQP');
      throw err;
    } finally {
      // A failed passive declare closes the channel itself: a second close can only fail.
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    // At shutdown: a connection that never opened, or already died, has nothing to release.
    await Promise.all(all.map((c) => c.then((conn) => conn.close()).catch(() => undefined)));
  }

  private connection(vhost: string): Promise<ChannelModel> {
    let pending = this.connections.get(vhost);
    if (!pending) {
      const url = new URL(this.url);
      url.pathname = `/${encodeURIComponent(vhost)}`;
      pending = amqp.connect(url.toString(), { clientProperties: { connection_name: `nws-watermark controller depth (pid ${process.pid})` } });
      this.connections.set(vhost, pending);
      const forget = () => {
        if (this.connections.get(vhost) === pending) this.connections.delete(vhost);
      };
      pending.then((conn) => {
        conn.on('error', () => undefined);
        conn.on('close', forget);
      }, forget);
    }
    return pending;
  }
}
