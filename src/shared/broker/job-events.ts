/**
 * Job lifecycle events on the `watermark.events` topic exchange (routing key = event type).
 * They drive the api's Server-Sent Events; they are notifications, not the record: a lost event
 * only delays a browser until its next status check, so publishing them never fails a job.
 */
import type { JobEvent } from '../job.js';
import type { Logger } from '../logger.js';
import { EVENTS_EXCHANGE } from './topology.js';
import type { ConfirmPublisher } from './publisher.js';

export async function publishJobEvent(publisher: ConfirmPublisher, event: Omit<JobEvent, 'at'>, logger: Logger): Promise<void> {
  const body: JobEvent = { ...event, at: new Date().toISOString() };
  try {
    await publisher.publish(EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
      messageId: event.hash,
      // Nobody may be listening (no api running): that is not an error for a notification.
      mandatory: false,
    }, 2_000);
  } catch (err) {
    logger.warn({ err: (err as Error).message, event: event.type, hash: event.hash }, 'job event not published');
  }
}

export function parseJobEvent(body: Buffer): JobEvent | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Partial<JobEvent>;
    if (typeof value.hash !== 'string' || typeof value.type !== 'string') return undefined;
    return value as JobEvent;
  } catch {
    return undefined;
  }
}
