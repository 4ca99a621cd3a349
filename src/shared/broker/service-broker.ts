/**
 * The broker side the api and the worker both hold: one self-healing connection named after the
 * service, and a confirm publisher that declares the topology on every (re)connection, so either
 * one may meet a fresh broker first.
 */
import type { Channel } from 'amqplib';
import type { CommonConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { BrokerConnection } from './connection.js';
import { ConfirmPublisher } from './publisher.js';
import { declareTopology } from './topology.js';

export interface ServiceBroker {
  broker: BrokerConnection;
  publisher: ConfirmPublisher;
  /** Declares this service's queues and exchanges on a channel (idempotent): the publisher's set-up, and the worker's consumer's on each channel it opens. */
  declareTopology: (channel: Channel) => Promise<void>;
}

/** `retryDelaysMs`: the delay queues to declare (the worker's RETRY_DELAYS_MS; none for the api, which never uses them). */
export function createServiceBroker(
  config: Pick<CommonConfig, 'RABBITMQ_URL' | 'RABBITMQ_QUEUE_TYPE' | 'RABBITMQ_DELIVERY_LIMIT'>,
  service: string,
  retryDelaysMs: readonly number[],
  logger: Logger,
): ServiceBroker {
  const broker = new BrokerConnection({ url: config.RABBITMQ_URL, name: `nws-watermark ${service}`, logger });
  const declare = (channel: Channel) =>
    declareTopology(channel, { queueType: config.RABBITMQ_QUEUE_TYPE, deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT, retryDelaysMs });
  const publisher = new ConfirmPublisher(broker, logger, declare);
  return { broker, publisher, declareTopology: declare };
}
