/**
 * One AMQP connection that heals itself. Users register `onConnect` set-ups (open channels,
 * declare topology, start consumers); they run again on every reconnection, so a broker restart
 * needs no restart of ours. The broker's `blocked` notification is surfaced so publishers can
 * refuse work (503) instead of hanging on a broker that stopped reading.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { EventEmitter } from 'node:events';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';

export type ConnectionSetup = (connection: ChannelModel) => Promise<void>;

/**
 * How long after a channel-level close (the broker closing one channel, the connection left up),
 * or a consumer cancelled by the broker, the set-up runs again on the same connection; then, while
 * it keeps failing, the delays that follow, the last one repeating.
 */
export const CHANNEL_REOPEN_DELAY_MS = 200;
const CHANNEL_RETRY_DELAYS_MS = [CHANNEL_REOPEN_DELAY_MS, 500, 1_000, 2_000, 5_000] as const;

/**
 * Runs a set-up step again on the same connection, CHANNEL_REOPEN_DELAY_MS later, if it still
 * lives: after a channel closed on its own, or a consumer the broker cancelled, no reconnection
 * comes to run the set-ups again. A step that fails is tried again, later each time, for as long as
 * the connection lives: given up after one failure (a broker still recovering its queues refusing
 * a declare), the service would stay not ready until its connection dropped. The step itself skips
 * when it is no longer needed (a channel open again, a service stopping). What is lost with its
 * connection is left to the reconnection's set-ups. `what` names the step in the warning ("reopen
 * publisher channel").
 */
export function laterOnSameConnection(
  broker: Pick<BrokerConnection, 'isConnected'>,
  step: () => Promise<void>,
  logger: Logger,
  what: string,
  attempt = 0,
): void {
  setTimeout(
    () => {
      if (!broker.isConnected) return;
      step().catch((err: unknown) => {
        logger.warn({ err: errorMessage(err), attempt }, `could not ${what}; trying again`);
        laterOnSameConnection(broker, step, logger, what, attempt + 1);
      });
    },
    backoffDelay(CHANNEL_RETRY_DELAYS_MS, attempt, CHANNEL_REOPEN_DELAY_MS),
  ).unref();
}

/**
 * Runs a new channel's set-up (declares, prefetch); if it fails, closes the channel before
 * rethrowing. A broker's refusal has closed it already; anything else would leave one open, unused
 * channel behind on every retry.
 */
export async function setUpOrClose<C extends Channel>(channel: C, setUp: (channel: C) => Promise<void>): Promise<void> {
  try {
    await setUp(channel);
  } catch (err) {
    await channel.close().catch(() => undefined);
    throw err;
  }
}

export interface BrokerConnectionOptions {
  url: string;
  name: string;
  logger: Logger;
  /** Delays between reconnection attempts, the last one repeated. */
  reconnectDelaysMs?: readonly number[];
}

export class BrokerConnection extends EventEmitter {
  private connection: ChannelModel | undefined;
  private readonly setups: ConnectionSetup[] = [];
  private closing = false;
  private blockedReason: string | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: BrokerConnectionOptions) {
    super();
  }

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  /** Why the broker stopped accepting publishes (e.g. low memory), or undefined. */
  get blocked(): string | undefined {
    return this.blockedReason;
  }

  /** Registers a set-up; runs now if connected, and after every reconnection. */
  async onConnect(setup: ConnectionSetup): Promise<void> {
    this.setups.push(setup);
    if (this.connection) await setup(this.connection);
  }

  /** Connects, retrying until it succeeds or `close` is called. Resolves on the first success. */
  start(): Promise<void> {
    this.connecting ??= new Promise<void>((resolve) => {
      this.once('connected', () => resolve());
      void this.connect();
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    const connection = this.connection;
    this.connection = undefined;
    // A connection the broker already dropped refuses to close: there is nothing left to release.
    await connection?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    const { logger, url, name } = this.options;
    try {
      // The pid in the name tells an operator (and rabbitmqctl list_connections) which process it is.
      const connection = await amqp.connect(url, { clientProperties: { connection_name: `${name} (pid ${process.pid})` } });
      connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'broker connection error'));
      connection.on('blocked', (reason: string) => {
        this.blockedReason = reason || 'blocked';
        logger.warn({ reason }, 'broker blocked publishing');
        this.emit('blocked', this.blockedReason);
      });
      connection.on('unblocked', () => {
        this.blockedReason = undefined;
        logger.info('broker unblocked publishing');
      });
      connection.on('close', () => this.handleClose(connection));
      this.connection = connection;
      for (const setup of this.setups) await setup(connection);
      this.attempt = 0;
      logger.info({ broker: redactUrl(url) }, 'broker connected');
      this.emit('connected', connection);
    } catch (err) {
      logger.warn({ err: errorMessage(err), attempt: this.attempt }, 'broker connection failed; retrying');
      const failed = this.connection;
      this.connection = undefined;
      // Half set up and being replaced: its close failing changes nothing, the reconnect follows.
      await failed?.close().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private handleClose(connection: ChannelModel): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.blockedReason = undefined;
    if (this.closing) return;
    this.options.logger.warn('broker connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const delay = backoffDelay(this.options.reconnectDelaysMs ?? [100, 250, 500, 1000, 2000], this.attempt, 1_000);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
