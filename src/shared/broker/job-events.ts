/**
 * Publishing job lifecycle events (contract: contracts/job-event.ts) on the `watermark.events`
 * topic exchange. They drive the api's Server-Sent Events; they are notifications, not the record:
 * a lost event only delays a browser until its next status check, so publishing never fails a job.
 */
import { encodeJobEvent, type JobEvent } from '../contracts/index.js';
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
