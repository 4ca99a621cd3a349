/**
 * The retry worker's AMQP side: consumes `watermark_retry` with manual acks and a small prefetch,
 * runs each job through the processor, and carries out the retry policy's decision. A message is
 * acked only after its outcome is safe elsewhere: the result stored, or the job republished to a
 * delay queue or the DLQ with the broker's confirm. Nothing is acked away silently.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { laterOnSameConnection, setUpOrClose, type BrokerConnection } from '../shared/broker/connection.js';
import { publishJobEvent } from '../shared/broker/job-events.js';
import type { MessagePublisher } from '../shared/broker/publisher.js';
import { DEAD_LETTER_QUEUE, RETRY_QUEUE, delayQueueName } from '../shared/broker/topology.js';
import { failureRecordKey, isImageHash } from '../shared/content-address.js';
import {
  ATTEMPT_HEADER,
  CORRELATION_HEADER,
  DEAD_LETTER_ERROR_HEADER,
  DEAD_LETTER_REASON_HEADER,
  attemptsFromHeaders,
  encodeFailureRecord,
  type Decoded,
  type Job,
  type JobEvent,
} from '../shared/contracts/index.js';
import type { JobRecordStore } from '../shared/job-record-store.js';
import { warnAndContinue, type Logger } from '../shared/logger.js';
import { DEAD_LETTER_REASONS, type WorkerMetrics } from '../shared/metrics.js';
import type { ObjectStore } from '../shared/object-store.js';
import { DependencyGate, type Probe } from './dependency-gate.js';
import type { JobProcessor } from './job-processor.js';
import { decide, type Dependency, type JobFailure, type RetryDecision, type RetryPolicy } from './retry-policy.js';
import { errorMessage } from '../shared/errors.js';

export interface ConsumerOptions {
  prefetch: number;
  policy: RetryPolicy;
  probeIntervalMs: number;
  /** How long a move to a delay queue or the DLQ waits for the broker's confirm before the job is handed back. */
  confirmTimeoutMs: number;
  /** How long a job event waits for its confirm before it is given up (logged, never failing the job). */
  eventConfirmTimeoutMs: number;
}

/** What the consumer uses of each collaborator, and no more (its unit test fakes exactly this). */
export interface ConsumerDependencies {
  broker: Pick<BrokerConnection, 'onConnect' | 'isConnected'>;
  /** Declares the queues on each channel the consumer opens, and again after the broker cancelled it (createServiceBroker's). */
  declareTopology: (channel: Channel) => Promise<void>;
  /** The job message decoder, with this worker's `default` settings (contracts/job-message.ts `jobDecoder`). */
  decodeJob: (body: Uint8Array) => Decoded<Job>;
  publisher: MessagePublisher;
  processor: Pick<JobProcessor, 'process'>;
  jobs: Pick<JobRecordStore, 'setPending' | 'markFailed'>;
  store: Pick<ObjectStore, 'put'>;
  probes: Record<Dependency, Probe>;
  metrics: WorkerMetrics;
  logger: Logger;
}

export class RetryConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private reopening: Promise<void> | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly gates: Record<Dependency, DependencyGate>;
  private waitingFor: Dependency | undefined;

  constructor(
    private readonly deps: ConsumerDependencies,
    private readonly options: ConsumerOptions,
  ) {
    // Each reason's series exists at 0 from the start, so increase() sees the first dead letter too.
    for (const reason of DEAD_LETTER_REASONS) deps.metrics.deadLettered.inc({ reason }, 0);
    this.gates = {
      optimizer: new DependencyGate(deps.probes.optimizer, options.probeIntervalMs),
      'object store': new DependencyGate(deps.probes['object store'], options.probeIntervalMs),
    };
  }

  async attach(): Promise<void> {
    await this.deps.broker.onConnect((connection) => this.open(connection));
  }

  /** Consuming, or deliberately paused while a dependency is down (both are healthy states). */
  get ready(): boolean {
    return this.channel !== undefined && !this.stopping;
  }

  get pausedFor(): Dependency | undefined {
    return this.waitingFor;
  }

  /** Stops taking jobs, lets the ones in hand finish, then returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const gate of Object.values(this.gates)) gate.cancel();
    await this.cancelConsumer();
    await Promise.allSettled([...this.inFlight]);
    // Closing the channel first waits for the broker's close-ok, which it sends only after the
    // acks before it: closing the connection straight away can overtake them and requeue done jobs.
    const channel = this.channel;
    this.channel = undefined;
    // Already closed with its connection: the broker requeued what was unacked, nothing is left to do.
    await channel?.close().catch(() => undefined);
  }

  private async open(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (err: Error) => this.deps.logger.warn({ err: err.message }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return; // stop() let it go first
      this.channel = undefined;
      this.consumerTag = undefined;
      // A channel-level error closes this channel alone: no reconnection will come to open another,
      // and the worker would stay not ready for good. Reopen it while the connection lives, as the
      // publisher does; a lost connection is the reconnection's to set up.
      laterOnSameConnection(this.deps.broker, () => this.reopen(connection), this.deps.logger, 'reopen consumer channel');
    });
    // Declared on every channel it opens, not only by the publisher: a channel reopened after its
    // queue was deleted must not consume from a queue that is not there.
    await setUpOrClose(channel, async () => {
      await this.deps.declareTopology(channel);
      await channel.prefetch(this.options.prefetch);
    });
    this.channel = channel;
    if (!this.waitingFor && !this.stopping) await this.consume();
  }

  /** One reopen at a time: a channel that closes while being opened schedules one too. */
  private reopen(connection: ChannelModel): Promise<void> {
    if (this.channel || this.stopping) return Promise.resolve();
    this.reopening ??= this.open(connection)
      .then(() => this.deps.logger.info('consumer channel reopened'))
      .finally(() => {
        this.reopening = undefined;
      });
    return this.reopening;
  }

  private async consume(): Promise<void> {
    const channel = this.channel;
    if (!channel || this.consumerTag || this.stopping) return;
    const { consumerTag } = await channel.consume(RETRY_QUEUE, (message) => {
      if (!message) {
        this.cancelledByBroker(channel);
        return;
      }
      const work = this.handle(channel, message).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'unexpected error handling a job; handing it back');
        this.nack(channel, message, true);
      });
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.consumerTag = consumerTag;
  }

  /**
   * The broker cancelled the consumer (its queue was deleted, or a replicated queue's leader moved):
   * channel and connection stay up, so no reconnection comes, and the worker would look ready while
   * consuming nothing. Declare the queues again (a deleted queue comes back empty) and consume again.
   * If the declare fails it closes the channel, and the channel's reopen takes over.
   */
  private cancelledByBroker(channel: Channel): void {
    if (this.channel !== channel) return;
    this.consumerTag = undefined;
    this.deps.logger.warn({ queue: RETRY_QUEUE }, 'the broker cancelled the consumer; declaring the queues and consuming again');
    laterOnSameConnection(this.deps.broker, () => this.consumeAgain(channel), this.deps.logger, 'consume again');
  }

  private async consumeAgain(channel: Channel): Promise<void> {
    if (this.channel !== channel || this.consumerTag || this.stopping) return;
    await this.deps.declareTopology(channel);
    if (this.waitingFor) return; // paused for a dependency: its gate consumes again once it is back
    await this.consume();
    this.deps.logger.info({ queue: RETRY_QUEUE }, 'consuming again after the broker cancelled the consumer');
  }

  private async cancelConsumer(): Promise<void> {
    const { channel, consumerTag } = this;
    this.consumerTag = undefined;
    // A cancel fails only on a dead channel, which delivers nothing more anyway.
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const started = process.hrtime.bigint();
    const headers = message.properties.headers;
    const attempts = attemptsFromHeaders(headers);
    const correlationId = typeof headers?.[CORRELATION_HEADER] === 'string' ? headers[CORRELATION_HEADER] : undefined;
    const decoded = this.deps.decodeJob(message.content);
    // The job's id everywhere (its record, its events, its failure record) is the result's.
    const hash = decoded.ok ? decoded.value.result_id : undefined;
    const log = this.deps.logger.child({
      hash: decoded.ok ? decoded.value.hash : undefined,
      resultId: hash,
      correlationId,
      attempts,
      redelivered: message.fields.redelivered,
    });

    let failure: JobFailure;
    if (!decoded.ok) {
      failure = { kind: 'invalid-message', detail: decoded.reason };
    } else {
      const result = await this.deps.processor.process(decoded.value, attempts, message.fields.redelivered);
      if (result.kind === 'done') {
        this.ack(channel, message);
        this.deps.metrics.jobDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        log.info({ alreadyDone: result.alreadyDone }, 'job done');
        if (result.announce) {
          await this.announce({ type: 'job.done', hash: decoded.value.result_id, attempts: attempts + 1, correlationId }, log);
        }
        return;
      }
      failure = result.failure;
    }

    const decision = decide(failure, attempts, this.options.policy);
    await this.apply(channel, message, decision, hash, correlationId, log);
  }

  private async apply(
    channel: Channel,
    message: ConsumeMessage,
    decision: RetryDecision,
    hash: string | undefined,
    correlationId: string | undefined,
    log: Logger,
  ): Promise<void> {
    const { metrics, jobs } = this.deps;
    switch (decision.action) {
      case 'wait-for-dependency': {
        log.warn({ dependency: decision.dependency, error: decision.error }, 'dependency down; pausing consumption');
        this.nack(channel, message, true);
        await this.pauseFor(decision.dependency);
        return;
      }
      case 'retry-later': {
        const republished = await this.republish(channel, delayQueueName(decision.delayMs), message, { [ATTEMPT_HEADER]: decision.attempts }, log);
        if (!republished) return;
        this.ack(channel, message);
        metrics.retried.inc();
        log.warn({ delayMs: decision.delayMs, error: decision.error }, 'job failed; retrying later');
        if (hash) {
          await jobs.setPending(hash, decision.attempts, decision.error).catch(warnAndContinue(log, 'job state not updated'));
          await this.announce({ type: 'job.retrying', hash, attempts: decision.attempts, error: decision.error, correlationId }, log);
        }
        return;
      }
      case 'dead-letter': {
        const republished = await this.republish(
          channel,
          DEAD_LETTER_QUEUE,
          message,
          {
            [ATTEMPT_HEADER]: decision.attempts,
            [DEAD_LETTER_REASON_HEADER]: decision.reason,
            [DEAD_LETTER_ERROR_HEADER]: decision.error.slice(0, 1_000),
          },
          log,
        );
        if (!republished) return;
        this.ack(channel, message);
        metrics.deadLettered.inc({ reason: decision.reason });
        log.error({ reason: decision.reason, error: decision.error }, 'job dead-lettered');
        if (hash && isImageHash(hash)) await this.recordFailure(hash, decision.attempts, decision.error, correlationId, log);
        return;
      }
    }
  }

  /** Publishes a copy of the message (same body and properties, updated headers) and waits for the confirm. */
  private async republish(channel: Channel, queue: string, message: ConsumeMessage, headers: Record<string, unknown>, log: Logger): Promise<boolean> {
    const { properties } = message;
    try {
      await this.deps.publisher.publish(
        '',
        queue,
        message.content,
        {
          persistent: true,
          contentType: properties.contentType as string | undefined,
          messageId: properties.messageId as string | undefined,
          timestamp: properties.timestamp as number | undefined,
          headers: { ...properties.headers, ...headers },
        },
        this.options.confirmTimeoutMs,
      );
      return true;
    } catch (err) {
      // Could not move it: hand it back to the queue rather than lose it.
      log.warn({ queue, err: errorMessage(err) }, 'republish failed; requeueing');
      this.nack(channel, message, true);
      return false;
    }
  }

  private async recordFailure(hash: string, attempts: number, error: string, correlationId: string | undefined, log: Logger): Promise<void> {
    const { jobs, store } = this.deps;
    // The failure record below still answers `failed` once the Redis record is gone.
    await jobs.markFailed(hash, attempts, error).catch(warnAndContinue(log, 'job state not updated'));
    const record = encodeFailureRecord({ hash, attempts, error, at: new Date().toISOString() });
    await store.put(failureRecordKey(hash), record, 'application/json').catch(warnAndContinue(log, 'failure record not stored'));
    await this.announce({ type: 'job.failed', hash, attempts, error, correlationId }, log);
  }

  private announce(event: Omit<JobEvent, 'at'>, log: Logger): Promise<void> {
    return publishJobEvent(this.deps.publisher, event, this.options.eventConfirmTimeoutMs, log);
  }

  private async pauseFor(dependency: Dependency): Promise<void> {
    if (this.waitingFor) return;
    this.waitingFor = dependency;
    await this.cancelConsumer();
    await this.gates[dependency].waitUntilOpen();
    this.waitingFor = undefined;
    if (this.stopping) return;
    this.deps.logger.info({ dependency }, 'dependency back; resuming consumption');
    await this.consume().catch(warnAndContinue(this.deps.logger, 'could not resume consuming'));
  }

  private ack(channel: Channel, message: ConsumeMessage): void {
    try {
      channel.ack(message);
      this.deps.metrics.acked.inc();
    } catch (err) {
      // The channel died after the outcome was kept: the broker redelivers, and the job is idempotent.
      this.deps.logger.warn({ err: errorMessage(err) }, 'ack failed; the job will be redelivered');
    }
  }

  private nack(channel: Channel | undefined, message: ConsumeMessage, requeue: boolean): void {
    try {
      channel?.nack(message, false, requeue);
      this.deps.metrics.nacked.inc({ requeue: String(requeue) });
    } catch {
      // Channel gone: unacked messages return to the queue by themselves.
    }
  }
}
