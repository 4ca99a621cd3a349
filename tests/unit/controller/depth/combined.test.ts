/**
 * The combined depth source with fake sources: ready from AMQP, unacked from the management API;
 * when only AMQP answers, unacked is unknown and the depth says why in the management API's own
 * words; when neither answers, the read fails (the loop then keeps the replicas).
 */
import { describe, expect, it } from 'vitest';
import { CombinedDepth } from '../../../../src/controller/depth/combined.js';
import type { DepthSource, QueueDepth } from '../../../../src/controller/depth/depth-source.js';

const ref = { vhost: '/', queue: 'jobs' };
const source = (read: () => Promise<QueueDepth>): DepthSource => ({ read, close: async () => undefined });
const failing = (message: string) => source(async () => Promise.reject(new Error(message)));
const http = source(async () => ({ ready: 5, unacked: 3, consumers: 2, source: 'management API' }));
const amqp = source(async () => ({
  ready: 9,
  unacked: undefined,
  unackedUnknown: 'an AMQP passive declare does not count unacked messages',
  consumers: 2,
  source: 'AMQP passive declare',
}));
const answered404 = 'the management API answered 404 for queue "jobs" in vhost "/": its statistics may not have caught up yet, or the queue does not exist';

describe('CombinedDepth', () => {
  it('takes ready from AMQP (live) and unacked from the management API', async () => {
    expect(await new CombinedDepth(http, amqp).read(ref)).toEqual({
      ready: 9,
      unacked: 3,
      consumers: 2,
      source: 'AMQP (ready) + management API (unacked)',
    });
  });

  it('says unacked is unknown with what the management API answered when only AMQP read the queue', async () => {
    expect(await new CombinedDepth(failing(answered404), amqp).read(ref)).toEqual({
      ready: 9,
      unacked: undefined,
      unackedUnknown: answered404,
      consumers: 2,
      source: 'AMQP passive declare',
    });
  });

  it('keeps the management API numbers when AMQP fails', async () => {
    expect(await new CombinedDepth(http, failing('channel closed')).read(ref)).toMatchObject({ ready: 5, unacked: 3 });
  });

  it('fails with both reasons when neither answers', async () => {
    await expect(new CombinedDepth(failing(answered404), failing('queue "jobs" not found in vhost "/" (AMQP)')).read(ref)).rejects.toThrow(
      `${answered404}; AMQP: queue "jobs" not found in vhost "/" (AMQP)`,
    );
  });
});
