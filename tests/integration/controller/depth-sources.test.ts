/**
 * The depth sources on the real broker, while consumers hold unacked messages: the management API
 * and AMQP agree on ready; the management API counts the unacked ones AMQP cannot see; the
 * combined source gives both; a missing queue is an error, never a depth of zero.
 */
import type { Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpPassiveDepth } from '../../../src/controller/depth/amqp-passive.js';
import { CombinedDepth } from '../../../src/controller/depth/combined.js';
import { QueueNotFoundError } from '../../../src/controller/depth/depth-source.js';
import { ManagementApiDepth } from '../../../src/controller/depth/management-api.js';
import { waitFor } from '../../helpers/wait.js';
import { createVhost, ensureManagementApi, MANAGEMENT_URL, publish, type TestVhost } from './broker.js';

let vhost: TestVhost;
let consumer: Channel;
const management = new ManagementApiDepth({ url: MANAGEMENT_URL });
const amqp = new AmqpPassiveDepth(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
const combined = new CombinedDepth(management, amqp);

beforeAll(async () => {
  await ensureManagementApi();
  vhost = await createVhost('depth');
  await publish(vhost.connection, 'jobs', 30);
  // Two retry delay queues of `jobs` (topology.ts names them so) and one that only looks alike.
  await publish(vhost.connection, 'jobs.delay.1000ms', 4);
  await publish(vhost.connection, 'jobs.delay.30000ms', 2);
  await publish(vhost.connection, 'jobs.delay.other', 9);
  // A consumer with prefetch 7 that never acks: 7 unacked, 23 ready.
  consumer = await vhost.connection.createChannel();
  await consumer.prefetch(7);
  await consumer.consume('jobs', () => undefined, { noAck: false });
});
afterAll(async () => {
  await consumer?.close().catch(() => undefined);
  await combined.close();
  await vhost?.cleanup();
});

describe('queue depth sources', () => {
  it('agree on ready, and the management API sees the unacked messages', async () => {
    const ref = { vhost: vhost.name, queue: 'jobs' };
    const fromHttp = await waitFor(
      async () => {
        const d = await management.read(ref);
        return d.ready === 23 && d.unacked === 7 ? d : undefined;
      },
      { timeoutMs: 15_000, what: 'management API counts 23 ready + 7 unacked' },
    );
    const live = await amqp.read(ref);
    expect(live.ready).toBe(fromHttp.ready);
    expect(live.unacked).toBeUndefined();
    expect(live.consumers).toBe(1);
    const both = await combined.read(ref);
    expect(both).toMatchObject({ ready: 23, unacked: 7 });
  });

  it('count the retry delay queues apart, as retrying, from the management API', async () => {
    const ref = { vhost: vhost.name, queue: 'jobs' };
    const d = await waitFor(
      async () => {
        const read = await management.read(ref);
        return read.retrying === 6 ? read : undefined;
      },
      { timeoutMs: 15_000, what: 'management API lists 6 retrying messages' },
    );
    expect(d).toMatchObject({ ready: 23, unacked: 7, retrying: 6 });
    expect(await combined.read(ref)).toMatchObject({ ready: 23, unacked: 7, retrying: 6 });
  });

  it('report a missing queue as an error, not as zero', async () => {
    const ref = { vhost: vhost.name, queue: 'absent' };
    await expect(management.read(ref)).rejects.toBeInstanceOf(QueueNotFoundError);
    await expect(management.read(ref)).rejects.toThrow(`the management API answered 404 for queue "absent" in vhost "${vhost.name}"`);
    await expect(amqp.read(ref)).rejects.toBeInstanceOf(QueueNotFoundError);
    await expect(combined.read(ref)).rejects.toThrow(/not found/);
  });

  it('fall back to AMQP with unacked unknown when the management API is down', async () => {
    const down = new CombinedDepth(new ManagementApiDepth({ url: 'http://guest:guest@127.0.0.1:1' }), amqp);
    const d = await down.read({ vhost: vhost.name, queue: 'jobs' });
    expect(d).toMatchObject({ ready: 23, unacked: undefined, source: 'AMQP passive declare' });
  });
});
