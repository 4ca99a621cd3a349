/**
 * Fans job events from the `watermark.events` exchange out to the browsers following a hash.
 * Each api replica binds its own exclusive, auto-deleted queue, so every replica sees every event.
 */
import type { ChannelModel } from 'amqplib';
import type { BrokerConnection } from '../shared/broker/connection.js';
import { followJobEvents } from '../shared/broker/job-events.js';
import type { JobEvent } from '../shared/contracts/index.js';
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
    await followJobEvents(
      connection,
      'job.*',
      (event) => {
        this.logger.debug({ hash: event.hash, correlationId: event.correlationId, event: event.type }, 'job event');
        for (const listener of this.listeners.get(event.hash) ?? []) listener(event);
      },
      this.logger,
    );
  }
}
