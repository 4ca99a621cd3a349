/**
 * Job lifecycle events (contract: contracts/job-event.ts) on the `watermark.events` topic exchange:
 * publishing them, and following them. They drive the api's Server-Sent Events and the
 * controller's reaction to a backlog; they are notifications, not the record: a lost event only
 * delays a reader until its next status check or poll, so publishing never fails a job.
 */
import type { ChannelModel } from 'amqplib';
import { decodeJobEvent, encodeJobEvent, type JobEvent } from '../contracts/index.js';
import type { Logger } from '../logger.js';
import { EVENTS_EXCHANGE } from './topology.js';
import type { MessagePublisher } from './publisher.js';
import { errorMessage } from '../errors.js';

/** `confirmTimeoutMs`: EVENT_CONFIRM_TIMEOUT_MS, shorter than a job's, since nothing waits on an event. */
export async function publishJobEvent(publisher: MessagePublisher, event: Omit<JobEvent, 'at'>, confirmTimeoutMs: number, logger: Logger): Promise<void> {
  try {
    await publisher.publish(
      EVENTS_EXCHANGE,
      event.type,
      encodeJobEvent({ ...event, at: new Date().toISOString() }),
      {
        contentType: 'application/json',
        messageId: event.hash,
        // Nobody may be listening (no api running): that is not an error for a notification.
        mandatory: false,
      },
      confirmTimeoutMs,
    );
  } catch (err) {
    logger.warn({ err: errorMessage(err), event: event.type, hash: event.hash }, 'job event not published');
  }
}

/**
 * Follows the events whose routing key matches `pattern` (`job.*`, `job.queued`) on a queue of this
 * connection's own (exclusive, auto-deleted: every reader sees every event), decoded with the
 * contract. Only our services publish here: a bad event is a bug to see in the log, not a reason
 * to stop listening.
 */
export async function followJobEvents(connection: ChannelModel, pattern: string, onEvent: (event: JobEvent) => void, logger: Logger): Promise<void> {
  const channel = await connection.createChannel();
  channel.on('error', (err: Error) => logger.warn({ err: err.message }, 'job events channel error'));
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, pattern);
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const decoded = decodeJobEvent(message.content);
      if (!decoded.ok) {
        logger.warn({ reason: decoded.reason, routingKey: message.fields.routingKey }, 'job event ignored: not a job event');
        return;
      }
      onEvent(decoded.value);
    },
    { noAck: true },
  );
}
