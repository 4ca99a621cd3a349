/**
 * The quorum topology against the real RabbitMQ: the work queue has an explicit delivery limit and
 * dead-letters at least once, so a job returned too often lands in the DLQ instead of vanishing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, GetMessage } from 'amqplib';
import { DEAD_LETTER_QUEUE, RETRY_QUEUE, declareTopology, retryQueueOptions } from '../../src/shared/broker/topology.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let channel: Channel;
const DELIVERY_LIMIT = 2;

beforeAll(async () => {
  h = await createHarness('quorum');
  channel = await h.broker.createChannel();
  await declareTopology(channel, { queueType: 'quorum', deliveryLimit: DELIVERY_LIMIT, retryDelaysMs: [100] });
});
afterAll(async () => {
  await channel?.close().catch(() => undefined);
  await h?.cleanup();
});

describe('quorum topology', () => {
  it('declares the work queue with at-least-once dead lettering and the delivery limit', () => {
    expect(retryQueueOptions('quorum', 7).arguments).toMatchObject({
      'x-queue-type': 'quorum',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      'x-delivery-limit': 7,
      'x-dead-letter-routing-key': DEAD_LETTER_QUEUE,
    });
    expect(retryQueueOptions('quorum').arguments).toMatchObject({ 'x-delivery-limit': 20 });
    expect(retryQueueOptions('classic').arguments).not.toHaveProperty('x-delivery-limit');
  });

  it('is declared again on a reconnection without a conflict', async () => {
    await declareTopology(channel, { queueType: 'quorum', deliveryLimit: DELIVERY_LIMIT, retryDelaysMs: [100] });
    expect((await channel.checkQueue(RETRY_QUEUE)).messageCount).toBe(0);
  });

  it('dead-letters a job returned more often than the delivery limit', async () => {
    channel.sendToQueue(RETRY_QUEUE, Buffer.from('{"probe":true}'), { persistent: true, messageId: 'delivery-limit' });
    let deliveries = 0;
    let deadLetter: GetMessage | undefined;
    // Each return counts; the broker moves the job to the DLQ once the limit is passed.
    while (!deadLetter && deliveries <= DELIVERY_LIMIT + 1) {
      const message = await waitFor(async () => (await channel.get(RETRY_QUEUE)) || (await channel.get(DEAD_LETTER_QUEUE)) || undefined, {
        what: 'the job back in the work queue or in the DLQ',
      });
      if (message.fields.routingKey === DEAD_LETTER_QUEUE || message.properties.headers?.['x-death']) {
        deadLetter = message;
        channel.ack(message);
      } else {
        deliveries += 1;
        channel.nack(message, false, true);
      }
    }
    expect(deadLetter?.properties.messageId).toBe('delivery-limit');
    expect(deliveries).toBe(DELIVERY_LIMIT + 1);
    const death = (deadLetter?.properties.headers?.['x-death'] as { reason: string; queue: string }[] | undefined)?.[0];
    expect(death).toMatchObject({ reason: 'delivery_limit', queue: RETRY_QUEUE });
  });
});
