/**
 * Jobs put straight onto the work queue, as the api puts them after its confirm, for the tests and
 * the bench that need many at once without uploading each.
 */
import { randomBytes } from 'node:crypto';
import type { ChannelModel } from 'amqplib';
import { EVENTS_EXCHANGE, RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { encodeJobEvent } from '../../src/shared/contracts/job-event.js';
import { encodeJobMessage } from '../../src/shared/contracts/job-message.js';
import type { ObjectStore } from '../../src/shared/object-store.js';
import type { WatermarkSettings } from '../../src/shared/contracts/index.js';
import { testJob } from './watermark.js';

/** Stores one original under `count` fresh hashes (the worker trusts the key, not the bytes), `batch` puts at a time. */
export async function storeOriginals(store: Pick<ObjectStore, 'put'>, image: Buffer, count: number, batch = 32): Promise<string[]> {
  const hashes = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  for (let i = 0; i < hashes.length; i += batch) {
    await Promise.all(hashes.slice(i, i + batch).map((hash) => store.put(`original/${hash}.jpg`, image, 'image/jpeg')));
  }
  return hashes;
}

/**
 * Publishes a job for each stored original as the api does (its settings, the default ones unless
 * given, and the result id they give), persistent, and waits for the broker's confirms. Resolves with
 * the result ids, which the worker's job events name.
 */
export async function enqueueJobs(broker: ChannelModel, hashes: string[], filename = 'job.jpg', settings?: WatermarkSettings): Promise<string[]> {
  const confirm = await broker.createConfirmChannel();
  const resultIds: string[] = [];
  for (const hash of hashes) {
    const job = { ...testJob(hash, settings), filename, enqueued_at: new Date().toISOString() };
    resultIds.push(job.result_id);
    confirm.sendToQueue(RETRY_QUEUE, encodeJobMessage(job), { persistent: true, messageId: job.result_id, contentType: 'application/json' });
  }
  await confirm.waitForConfirms();
  await confirm.close();
  return resultIds;
}

/**
 * Publishes a `job.queued` event for each id, as the api does after each job's confirm, so the
 * controller hears of the backlog (contract: contracts/job-event.ts).
 */
export async function announceQueued(broker: ChannelModel, resultIds: string[]): Promise<void> {
  const confirm = await broker.createConfirmChannel();
  await confirm.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  for (const id of resultIds) {
    const event = encodeJobEvent({ type: 'job.queued', hash: id, attempts: 0, at: new Date().toISOString() });
    confirm.publish(EVENTS_EXCHANGE, 'job.queued', event, { contentType: 'application/json', messageId: id });
  }
  await confirm.waitForConfirms();
  await confirm.close();
}
