/**
 * ConfirmPublisher against a scripted broker: every way a publish can end, and whether the caller
 * may take the message as certainly not taken (`refused`) or possibly taken (`unknown`). The real
 * broker cannot be made to nack, return or lose a channel on cue; these are the branches for that.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfirmPublisher, PublishError, type PublishFailure } from '../../../../src/shared/broker/publisher.js';
import { FakeBroker, type FakeConfirmChannel } from '../../fakes/amqp.js';
import { recordingLogger } from '../../fakes/logger.js';

const TIMEOUT_MS = 1_000;
let broker: FakeBroker;
let publisher: ConfirmPublisher;
let setupChannel: ReturnType<typeof vi.fn<() => Promise<void>>>;

beforeEach(() => {
  vi.useFakeTimers();
  broker = new FakeBroker();
  setupChannel = vi.fn(async () => undefined);
  publisher = new ConfirmPublisher(broker, recordingLogger().logger, setupChannel);
});
afterEach(() => {
  vi.useRealTimers();
});

function channel(): FakeConfirmChannel {
  const current = broker.confirmChannels.at(-1);
  if (!current) throw new Error('no channel opened');
  return current;
}

function publish(options: { mandatory?: boolean; headers?: Record<string, unknown> } = {}): Promise<void> {
  return publisher.publish('', 'watermark_retry', Buffer.from('{}'), { persistent: true, ...options }, TIMEOUT_MS);
}

/** The failure a publish ended with; fails the test if it resolved. */
async function failureOf(promise: Promise<void>): Promise<{ failure: PublishFailure; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PublishError);
  const { failure, message } = err as PublishError;
  return { failure, message };
}

describe('ConfirmPublisher', () => {
  it('refuses while no channel is open', async () => {
    expect(publisher.ready).toBe(false);
    expect(await failureOf(publish())).toEqual({ failure: 'refused', message: 'broker is not connected' });
  });

  it('sets its channel up on connect, then resolves on the broker’s ack', async () => {
    await publisher.attach();
    expect(setupChannel).toHaveBeenCalledOnce();
    expect(publisher.ready).toBe(true);
    const done = publish({ headers: { 'x-attempts': 0 } });
    const sent = channel().last;
    // mandatory unless the caller says otherwise, so an unroutable message comes back; the caller's
    // headers are kept and a publish id added, to match the return to its publish.
    expect(sent.options).toMatchObject({ persistent: true, mandatory: true, headers: { 'x-attempts': 0, 'x-publish-id': expect.any(String) } });
    sent.callback(null);
    await expect(done).resolves.toBeUndefined();
  });

  it('lets the caller turn mandatory off', async () => {
    await publisher.attach();
    void publish({ mandatory: false });
    expect(channel().last.options.mandatory).toBe(false);
    channel().last.callback(null);
  });

  it('refuses while the broker blocks publishers, without sending', async () => {
    await publisher.attach();
    broker.blocked = 'low on memory';
    expect(publisher.ready).toBe(false);
    expect(await failureOf(publish())).toEqual({ failure: 'refused', message: 'broker is blocking publishers (low on memory)' });
    expect(channel().published).toEqual([]);
  });

  it.each<[string, PublishFailure, () => void, string]>([
    ['a nack', 'refused', () => channel().last.callback(new Error('message nacked')), 'broker refused the message (nack)'],
    // amqplib fails pending confirms with 'channel closed': the message may be queued already.
    [
      'a confirm lost with its channel',
      'unknown',
      () => channel().last.callback(new Error('channel closed')),
      'broker channel lost before confirming: channel closed',
    ],
    [
      'the channel closing before the confirm',
      'unknown',
      () => {
        channel().emit('close');
        channel().last.callback(new Error('channel closed')); // the late callback changes nothing
      },
      'broker channel closed before confirming',
    ],
    // At once, rather than at the timeout: a blocked broker stops reading.
    ['the broker blocking mid-flight', 'unknown', () => broker.emit('blocked', 'disk alarm'), 'broker blocked publishers (disk alarm) before confirming'],
  ])('takes %s as %s', async (_answer, failure, answer, message) => {
    await publisher.attach();
    const done = publish();
    answer();
    expect(await failureOf(done)).toEqual({ failure, message });
  });

  /** The broker hands the last publish back as unroutable, then acks it, as RabbitMQ does. */
  function returnLast(): void {
    channel().returnLast();
    channel().last.callback(null);
  }

  it('takes a basic.return from an exchange as refused, at once', async () => {
    await publisher.attach();
    const done = publisher.publish('watermark.events', 'job.done', Buffer.from('{}'), {}, TIMEOUT_MS);
    returnLast();
    expect(await failureOf(done)).toEqual({ failure: 'refused', message: 'no queue is bound for watermark.events job.done' });
    expect(setupChannel).toHaveBeenCalledTimes(1);
  });

  it('declares the topology again and sends once more when a queue it publishes to is gone', async () => {
    await publisher.attach();
    const done = publish();
    returnLast();
    await vi.advanceTimersByTimeAsync(0);
    expect(setupChannel).toHaveBeenCalledTimes(2);
    expect(channel().published).toHaveLength(2);
    expect(broker.confirmChannels).toHaveLength(1); // on the same channel
    channel().last.callback(null);
    await expect(done).resolves.toBeUndefined();
  });

  it('declares once for every publish that found the queue gone at the same time', async () => {
    await publisher.attach();
    const first = publish();
    const second = publish();
    for (const sent of [...channel().published]) {
      channel().emit('return', { properties: { headers: sent.options.headers } });
      sent.callback(null);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(setupChannel).toHaveBeenCalledTimes(2);
    expect(channel().published).toHaveLength(4);
    for (const sent of channel().published.slice(2)) sent.callback(null);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
  });

  it('refuses when the queue is still missing after declaring it again', async () => {
    await publisher.attach();
    const done = failureOf(publish());
    returnLast();
    await vi.advanceTimersByTimeAsync(0);
    returnLast();
    expect(await done).toEqual({ failure: 'refused', message: 'no queue is bound for (default) watermark_retry' });
  });

  it('refuses when declaring again fails', async () => {
    await publisher.attach();
    setupChannel.mockRejectedValueOnce(new Error('PRECONDITION_FAILED'));
    const done = failureOf(publish());
    returnLast();
    expect(await done).toEqual({ failure: 'refused', message: 'no queue is bound for (default) watermark_retry' });
    expect(channel().published).toHaveLength(1);
  });

  it('calls no confirm within the timeout unknown', async () => {
    await publisher.attach();
    const done = failureOf(publish());
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(channel().last).toBeDefined(); // sent, still waiting
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toEqual({ failure: 'unknown', message: `broker did not confirm within ${TIMEOUT_MS} ms` });
  });

  it('calls a publish that throws refused', async () => {
    await publisher.attach();
    channel().throwOnPublish = new Error('Channel closed');
    expect(await failureOf(publish())).toEqual({ failure: 'refused', message: 'publish failed: Channel closed' });
  });

  it('reopens a channel the broker closed while the connection lives, and not after', async () => {
    await publisher.attach();
    channel().emit('close');
    expect(publisher.ready).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(broker.confirmChannels).toHaveLength(2);
    expect(publisher.ready).toBe(true);

    broker.isConnected = false;
    channel().emit('close');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(broker.confirmChannels).toHaveLength(2);
  });

  it('tries a failed reopen again until a channel is open', async () => {
    await publisher.attach();
    broker.failOpenings = 1;
    channel().emit('close');
    await vi.advanceTimersByTimeAsync(200);
    expect(publisher.ready).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(broker.confirmChannels).toHaveLength(2);
    expect(publisher.ready).toBe(true);
  });

  it('closes a channel whose set-up failed, then tries again', async () => {
    await publisher.attach();
    setupChannel.mockRejectedValueOnce(new Error('PRECONDITION_FAILED - inequivalent arg'));
    channel().emit('close');
    await vi.advanceTimersByTimeAsync(200);
    expect(broker.confirmChannels[1]!.closed).toBe(true);
    expect(publisher.ready).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(broker.confirmChannels).toHaveLength(3);
    expect(publisher.ready).toBe(true);
  });
});
