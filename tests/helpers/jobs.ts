/**
 * Jobs put straight onto the work queue, as the api puts them after its confirm, for the tests and
 * the bench that need many at once without uploading each.
 */
import { randomBytes } from 'node:crypto';
import type { ChannelModel } from 'amqplib';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { encodeJobMessage } from '../../src/shared/contracts/job-message.js';
import type { ObjectStore } from '../../src/shared/object-store.js';

/** Stores one original under `count` fresh hashes (the worker trusts the key, not the bytes), `batch` puts at a time. */
export async function storeOriginals(store: Pick<ObjectStore, 'put'>, image: Buffer, count: number, batch = 32): Promise<string[]> {
  const hashes = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  for (let i = 0; i < hashes.length; i += batch) {
    await Promise.all(hashes.slice(i, i + batch).map((hash) => store.put(`original/${hash}.jpg`, image, 'image/jpeg')));
  }
  return hashes;
}

/** Publishes a job for each stored original, persistent, and waits for the broker's confirms. */
export async function enqueueJobs(broker: ChannelModel, hashes: string[], filename = 'job.jpg'): Promise<void> {
  const confirm = await broker.createConfirmChannel();
  for (const hash of hashes) {
    const job = { hash, original_key: `original/${hash}.jpg`, filename, content_type: 'image/jpeg', enqueued_at: new Date().toISOString() };
    confirm.sendToQueue(RETRY_QUEUE, encodeJobMessage(job), { persistent: true, messageId: hash, contentType: 'application/json' });
  }
  await confirm.waitForConfirms();
  await confirm.close();
}
