/**
 * The broker topology (messaging contract) declared in one place. Every declaration is idempotent,
 * so the api and the worker both run it on each (re)connection.
 *
 *   api ──publish──► watermark_retry ──consume──► worker
 *                          ▲                        │ transient failure: republish with attempts+1
 *                          └── TTL expiry ── watermark_retry.delay.<ms>ms ◄┘
 *   worker ── poison / max attempts ──► watermark_retry.dlq (with reason headers)
 *   api, worker ──► watermark.events (topic: job.queued|retrying|done|failed) ──► api /events
 */
import type { Channel, Options } from 'amqplib';

export const RETRY_QUEUE = 'watermark_retry';
export const DEAD_LETTER_QUEUE = 'watermark_retry.dlq';
export const EVENTS_EXCHANGE = 'watermark.events';

export type QueueType = 'classic' | 'quorum';

/** RabbitMQ 4's own default for quorum queues, set explicitly so every broker version behaves alike. */
export const DEFAULT_DELIVERY_LIMIT = 20;

export interface TopologyOptions {
  queueType: QueueType;
  /**
   * Quorum only: deliveries of one message (returns to the queue by nack, reject or a lost channel)
   * before it is dead-lettered to the DLQ. Counts more than the worker's attempts: a worker pausing
   * for an unreachable dependency also returns the job it holds.
   */
  deliveryLimit?: number;
  /** One delay queue per distinct delay: a queue-level TTL avoids head-of-line blocking. */
  retryDelaysMs: readonly number[];
}

export function delayQueueName(delayMs: number): string {
  return `${RETRY_QUEUE}.delay.${delayMs}ms`;
}

function typeArguments(queueType: QueueType): Record<string, unknown> {
  return queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

/** Quorum queues dead-letter at most once unless told otherwise: a dead letter must not be lost. */
const AT_LEAST_ONCE = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };

export function retryQueueOptions(queueType: QueueType, deliveryLimit = DEFAULT_DELIVERY_LIMIT): Options.AssertQueue {
  return {
    durable: true,
    arguments: {
      ...typeArguments(queueType),
      // Safety net: anything rejected without requeue (or past a quorum delivery limit) lands in
      // the DLQ instead of vanishing. The worker dead-letters explicitly, with a reason, before that.
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': DEAD_LETTER_QUEUE,
      ...(queueType === 'quorum' ? { ...AT_LEAST_ONCE, 'x-delivery-limit': deliveryLimit } : {}),
    },
  };
}

export function delayQueueOptions(queueType: QueueType, delayMs: number): Options.AssertQueue {
  return {
    durable: true,
    arguments: {
      ...typeArguments(queueType),
      'x-message-ttl': delayMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': RETRY_QUEUE,
      // The delay hop dead-letters every job back to the work queue: it must not lose one.
      ...(queueType === 'quorum' ? AT_LEAST_ONCE : {}),
    },
  };
}

export async function declareTopology(channel: Channel, options: TopologyOptions): Promise<void> {
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: typeArguments(options.queueType) });
  await channel.assertQueue(RETRY_QUEUE, retryQueueOptions(options.queueType, options.deliveryLimit));
  for (const delay of new Set(options.retryDelaysMs)) {
    await channel.assertQueue(delayQueueName(delay), delayQueueOptions(options.queueType, delay));
  }
}
