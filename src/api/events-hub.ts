/**
 * Fans job events from the `watermark.events` exchange out to the browsers following a hash.
 * Each api replica binds its own exclusive, auto-deleted queue, so every replica sees every event.
 */
import type { ChannelModel } from 'amqplib';
import type { BrokerConnection } from '../shared/broker/connection.js';
import { EVENTS_EXCHANGE } from '../shared/broker/topology.js';
import { decodeJobEvent, type JobEvent } from '../shared/contracts/index.js';
import type { Logger } from '../shared/logger.js';

export type JobEventListener = (event: JobEvent) => void;

export class EventsHub {
  private readonly listeners = new Map<string, Set<JobEventListener>>();

  constructor(
    private readonly broker: BrokerConnection,
    private readonly logger: Logger,
  ) {}

  async attach(): Promise<void> {
    await this.broker.onConnect((connection) => this.bind(connection));
  }

  subscribe(hash: string, listener: JobEventListener): () => void {
    let set = this.listeners.get(hash);
    if (!set) {
      set = new Set();
      this.listeners.set(hash, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(hash);
    };
  }

  private async bind(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'events channel error'));
    await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, EVENTS_EXCHANGE, 'job.*');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const decoded = decodeJobEvent(message.content);
        if (!decoded.ok) {
          // Only our services publish here: a bad event is a bug to see, not a reason to stop listening.
          this.logger.warn({ reason: decoded.reason, routingKey: message.fields.routingKey }, 'job event ignored: not a job event');
          return;
        }
        const event = decoded.value;
        this.logger.debug({ hash: event.hash, correlationId: event.correlationId, event: event.type }, 'job event');
        for (const listener of this.listeners.get(event.hash) ?? []) listener(event);
      },
      { noAck: true },
    );
  }
}
