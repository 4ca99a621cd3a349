/**
 * Stand-ins for the AMQP side: a broker connection that hands out scripted channels. A confirm
 * channel keeps each publish's callback so a test decides how the broker answers (ack, nack,
 * basic.return, a lost channel, or nothing); a consumer channel delivers what the test gives it.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, MessageProperties, Options } from 'amqplib';
import { EventEmitter } from 'node:events';
import type { ConnectionSetup } from '../../../src/shared/broker/connection.js';

export interface Publish {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: Options.Publish;
  callback: (err: Error | null) => void;
}

/** What both kinds of channel do on close: remember it and say so, as amqplib's do. */
class FakeChannel extends EventEmitter {
  closed = false;

  async close(): Promise<void> {
    this.closed = true;
    this.emit('close');
  }
}

export class FakeConfirmChannel extends FakeChannel {
  readonly published: Publish[] = [];
  throwOnPublish: Error | undefined;

  publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish, callback: (err: Error | null) => void): boolean {
    if (this.throwOnPublish) throw this.throwOnPublish;
    this.published.push({ exchange, routingKey, body, options, callback });
    return true;
  }

  get last(): Publish {
    const publish = this.published.at(-1);
    if (!publish) throw new Error('nothing published');
    return publish;
  }

  /** The broker hands the last message back as unroutable (basic.return precedes its confirm). */
  returnLast(): void {
    this.emit('return', { properties: { headers: this.last.options.headers } });
  }
}

export class FakeConsumerChannel extends FakeChannel {
  readonly acked: ConsumeMessage[] = [];
  readonly nacked: { message: ConsumeMessage; requeue: boolean }[] = [];
  readonly consumers: string[] = [];
  readonly cancelled: string[] = [];
  prefetched: number | undefined;
  /** Makes ack and nack throw, as amqplib does once the channel is gone. */
  dead = false;
  private onMessage: ((message: ConsumeMessage | null) => void) | undefined;
  /** Every consume's callback, cancelled or not: a broker's cancel can cross the consumer's own. */
  readonly callbacks: ((message: ConsumeMessage | null) => void)[] = [];

  async prefetch(count: number): Promise<void> {
    this.prefetched = count;
  }

  async consume(_queue: string, onMessage: (message: ConsumeMessage | null) => void): Promise<{ consumerTag: string }> {
    this.onMessage = onMessage;
    this.callbacks.push(onMessage);
    const consumerTag = `ctag-${this.consumers.length + 1}`;
    this.consumers.push(consumerTag);
    return { consumerTag };
  }

  async cancel(consumerTag: string): Promise<void> {
    this.cancelled.push(consumerTag);
    this.onMessage = undefined;
  }

  ack(message: ConsumeMessage): void {
    if (this.dead) throw new Error('Channel closed');
    this.acked.push(message);
  }

  nack(message: ConsumeMessage, _allUpTo?: boolean, requeue = true): void {
    if (this.dead) throw new Error('Channel closed');
    this.nacked.push({ message, requeue });
  }

  get consuming(): boolean {
    return this.onMessage !== undefined;
  }

  deliver(message: ConsumeMessage | null): void {
    if (!this.onMessage) throw new Error('no consumer');
    this.onMessage(message);
  }
}

export class FakeBroker extends EventEmitter {
  blocked: string | undefined;
  isConnected = true;
  readonly confirmChannels: FakeConfirmChannel[] = [];
  readonly channels: FakeConsumerChannel[] = [];
  /** How many of the next channel openings fail, as on a broker still recovering. */
  failOpenings = 0;
  // The code under test calls createChannel/createConfirmChannel only; amqplib's ChannelModel has
  // a dozen more members, so the stand-in is cast to it, and to the channel types below, once here.
  readonly connection = {
    createConfirmChannel: async (): Promise<ConfirmChannel> => {
      this.failOpening();
      const channel = new FakeConfirmChannel();
      this.confirmChannels.push(channel);
      return channel as unknown as ConfirmChannel;
    },
    createChannel: async (): Promise<Channel> => {
      this.failOpening();
      const channel = new FakeConsumerChannel();
      this.channels.push(channel);
      return channel as unknown as Channel;
    },
  } as unknown as ChannelModel;

  private failOpening(): void {
    if (this.failOpenings === 0) return;
    this.failOpenings -= 1;
    throw new Error('NOT_FOUND - queue is being recovered');
  }

  async onConnect(setup: ConnectionSetup): Promise<void> {
    await setup(this.connection);
  }
}

let deliveryTag = 0;

/** A delivery as amqplib hands it to a consumer. */
export function delivery(content: Buffer, properties: Partial<MessageProperties> = {}, redelivered = false): ConsumeMessage {
  deliveryTag += 1;
  return {
    content,
    fields: { deliveryTag, redelivered, exchange: '', routingKey: 'watermark_retry', consumerTag: 'ctag-1' },
    properties: {
      contentType: 'application/json',
      contentEncoding: undefined,
      headers: {},
      deliveryMode: 2,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
      ...properties,
    },
  };
}
