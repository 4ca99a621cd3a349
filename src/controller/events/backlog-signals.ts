/**
 * Backlog signals from `job.queued` events (messaging contract, "Job events"): the api publishes
 * one on `watermark.events` after each job's confirm, so the controller hears of a backlog the
 * moment it forms instead of at the next poll. One healing connection per vhost a scaler watches,
 * each with its own exclusive, auto-deleted queue bound to `job.queued` (as the api's events hub
 * does); events are decoded with the contract's schema and a bad one is ignored. A signal carries
 * no depth: it only asks for a reconcile, which reads the queue as a poll does. Lost events cost
 * nothing but the reaction time: the poll stays the safety net.
 */
import type { ChannelModel } from 'amqplib';
import { BrokerConnection } from '../../shared/broker/connection.js';
import { followJobEvents } from '../../shared/broker/job-events.js';
import { RETRY_QUEUE } from '../../shared/broker/topology.js';
import type { Logger } from '../../shared/logger.js';
import { errorMessage } from '../../shared/errors.js';
import type { QueueRef } from '../depth/depth-source.js';

export interface BacklogSignals {
  /** Calls `listener` whenever a job is queued on `ref`; returns the unsubscribe. */
  watch(ref: QueueRef, listener: () => void): () => void;
  close(): Promise<void>;
}

interface VhostFeed {
  broker: BrokerConnection;
  listeners: Set<() => void>;
}

export class QueuedJobEvents implements BacklogSignals {
  private readonly feeds = new Map<string, VhostFeed>();

  /** @param url broker URL; its vhost is replaced by the one each watch asks for. */
  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  watch(ref: QueueRef, listener: () => void): () => void {
    // job.queued is published for the work queue only: no other queue gets a signal.
    if (ref.queue !== RETRY_QUEUE) return () => undefined;
    const feed = this.feeds.get(ref.vhost) ?? this.open(ref.vhost);
    feed.listeners.add(listener);
    return () => {
      feed.listeners.delete(listener);
      if (feed.listeners.size > 0 || this.feeds.get(ref.vhost) !== feed) return;
      this.feeds.delete(ref.vhost);
      void feed.broker.close();
    };
  }

  async close(): Promise<void> {
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.all(feeds.map((f) => f.broker.close()));
  }

  private open(vhost: string): VhostFeed {
    const url = new URL(this.url);
    url.pathname = `/${encodeURIComponent(vhost)}`;
    const logger = this.logger.child({ vhost, feed: 'job.queued' });
    const broker = new BrokerConnection({ url: url.toString(), name: 'nws-watermark controller job events', logger });
    const feed: VhostFeed = { broker, listeners: new Set() };
    this.feeds.set(vhost, feed);
    void broker
      .onConnect((connection) => this.bind(connection, feed, logger))
      .catch((err: unknown) => {
        logger.warn({ err: errorMessage(err) }, 'job.queued feed not bound; the poll still runs');
      });
    void broker.start();
    return feed;
  }

  private async bind(connection: ChannelModel, feed: VhostFeed, logger: Logger): Promise<void> {
    // Bound to job.queued alone: no other event says a backlog formed.
    await followJobEvents(
      connection,
      'job.queued',
      () => {
        for (const listener of feed.listeners) listener();
      },
      logger,
    );
  }
}
