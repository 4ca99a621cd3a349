/**
 * Publishing with publisher confirms and `mandatory`: `publish` resolves only once the broker has
 * taken responsibility for the message (routed to a queue and confirmed); it rejects when the broker
 * refuses it, cannot route it, is blocked, is unreachable, or does not confirm in time.
 * Callers turn a rejection into "nothing was accepted" (the api's 503).
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { laterOnSameConnection, setUpOrClose, type BrokerConnection } from './connection.js';
import { errorMessage } from '../errors.js';

/**
 * `refused`: the broker certainly did not take the message (not connected, blocked before sending,
 * nack, unroutable). `unknown`: the message was sent but not confirmed (timeout, channel lost, the
 * broker blocked us mid-flight): it may still be enqueued later, so callers must not assume it gone.
 */
export type PublishFailure = 'refused' | 'unknown';

export class PublishError extends Error {
  constructor(
    message: string,
    readonly failure: PublishFailure = 'refused',
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

/** What the publisher needs of the connection: its set-ups, its state, its `blocked` notification. */
export interface PublisherConnection extends Pick<BrokerConnection, 'onConnect' | 'blocked' | 'isConnected'> {
  on(event: 'blocked', listener: (reason: string) => void): unknown;
}

/** What a caller that only publishes needs of the publisher (and what its unit tests fake). */
export type MessagePublisher = Pick<ConfirmPublisher, 'publish'>;

const PUBLISH_ID_HEADER = 'x-publish-id';

export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  private readonly returned = new Set<string>();
  /** Publishes waiting for their confirm, so a blocked broker can release them at once. */
  private readonly inFlight = new Set<(error: Error) => void>();
  private redeclaring: Promise<boolean> | undefined;

  constructor(
    private readonly broker: PublisherConnection,
    private readonly logger: Logger,
    private readonly setupChannel: (channel: ConfirmChannel) => Promise<void> = () => Promise.resolve(),
  ) {
    // A blocked broker stops reading: waiting out the confirm timeout would only make callers hang.
    broker.on('blocked', (reason: string) => {
      for (const fail of [...this.inFlight]) fail(new PublishError(`broker blocked publishers (${reason}) before confirming`, 'unknown'));
    });
  }

  /** Opens the confirm channel on every (re)connection. */
  async attach(): Promise<void> {
    await this.broker.onConnect((connection) => this.open(connection));
  }

  get ready(): boolean {
    return this.channel !== undefined && this.broker.blocked === undefined;
  }

  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish, timeoutMs: number): Promise<void> {
    const channel = this.channel;
    if (!channel) throw new PublishError('broker is not connected');
    const blocked = this.broker.blocked;
    if (blocked) throw new PublishError(`broker is blocking publishers (${blocked})`);
    const deadline = Date.now() + timeoutMs;
    if (await this.publishOnce(channel, exchange, routingKey, body, options, timeoutMs)) return;
    // To a queue by name (the default exchange), unroutable means the queue is gone: deleted by hand
    // or by a policy while the connection stayed up, so no reconnection would declare it again.
    // Declare the topology and send once more, within the same deadline, rather than refuse every
    // publish until then. A second return is a refusal.
    if (exchange === '' && (await this.declareAgain(channel))) {
      const left = deadline - Date.now();
      if (left > 0 && (await this.publishOnce(channel, exchange, routingKey, body, options, left))) return;
    }
    throw new PublishError(`no queue is bound for ${exchange || '(default)'} ${routingKey}`);
  }

  /** Resolves true once confirmed, false when the broker returned it as unroutable (and confirmed it); rejects on anything else. */
  private async publishOnce(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
    timeoutMs: number,
  ): Promise<boolean> {
    const publishId = randomUUID();
    const headers = { ...(options.headers as Record<string, unknown> | undefined), [PUBLISH_ID_HEADER]: publishId };
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        settle(new PublishError(`broker did not confirm within ${timeoutMs} ms`, 'unknown'));
      }, timeoutMs);
      let settled = false;
      const settle = (error?: Error, routed = true) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        channel.off('close', onClose);
        this.inFlight.delete(settle);
        if (error) reject(error);
        else resolve(routed);
      };
      const onClose = () => settle(new PublishError('broker channel closed before confirming', 'unknown'));
      channel.once('close', onClose);
      this.inFlight.add(settle);
      try {
        channel.publish(exchange, routingKey, body, { mandatory: true, ...options, headers }, (err: Error | null) => {
          // basic.return always arrives before the confirm of the same message on one channel.
          if (this.returned.delete(publishId)) settle(undefined, false);
          // amqplib fails every pending confirm with 'channel closed' before the channel's 'close'
          // event: the message may already be queued, so only a real nack means refused.
          else if (err)
            settle(
              err.message === 'message nacked'
                ? new PublishError('broker refused the message (nack)')
                : new PublishError(`broker channel lost before confirming: ${err.message}`, 'unknown'),
            );
          else settle();
        });
      } catch (err) {
        settle(new PublishError(`publish failed: ${errorMessage(err)}`));
      }
    });
  }

  /** One declare at a time for every publish that found its queue gone; false when it failed (the channel then closes and is reopened). */
  private declareAgain(channel: ConfirmChannel): Promise<boolean> {
    this.redeclaring ??= this.setupChannel(channel)
      .then(
        () => {
          this.logger.warn('a publish to a queue found none; the topology was declared again');
          return true;
        },
        (err: unknown) => {
          this.logger.warn({ err: errorMessage(err) }, 'could not declare the topology again');
          return false;
        },
      )
      .finally(() => {
        this.redeclaring = undefined;
      });
    return this.redeclaring;
  }

  private async open(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'publisher channel error'));
    channel.on('return', (message: { properties: { headers?: Record<string, unknown> } }) => {
      const id = message.properties.headers?.[PUBLISH_ID_HEADER];
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      // A channel-level error closes only the channel; reopen it while the connection lives.
      laterOnSameConnection(this.broker, () => (this.channel ? Promise.resolve() : this.open(connection)), this.logger, 'reopen publisher channel');
    });
    await setUpOrClose(channel, this.setupChannel);
    this.channel = channel;
  }
}
