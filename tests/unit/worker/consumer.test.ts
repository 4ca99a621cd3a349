/**
 * RetryConsumer over a scripted channel, publisher and processor: what it does with each decision
 * of the retry policy, the order of ack and republish, and the branches the real broker cannot be
 * made to take on cue (a republish that fails, an ack on a dead channel, a processor that throws).
 */
import type { Options } from 'amqplib';
import fc from 'fast-check';
import { Registry, type Counter } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENTS_EXCHANGE } from '../../../src/shared/broker/topology.js';
import { CHANNEL_REOPEN_DELAY_MS } from '../../../src/shared/broker/connection.js';
import { failureRecordKey } from '../../../src/shared/content-address.js';
import { decodeFailureRecord, decodeJobEvent, encodeJobMessage, jobDecoder } from '../../../src/shared/contracts/index.js';
import { DEFAULT_SETTINGS, testJob } from '../../helpers/watermark.js';
import { workerMetrics } from '../../../src/shared/metrics.js';
import { RetryConsumer } from '../../../src/worker/consumer.js';
import type { ProcessResult } from '../../../src/worker/job-processor.js';
import { delivery, FakeBroker, type FakeConsumerChannel } from '../fakes/amqp.js';
import { recordingLogger } from '../fakes/logger.js';
import { MemoryJobRecords, MemoryObjectStore } from '../fakes/state.js';

const hash = '5'.repeat(64);
const job = { ...testJob(hash), filename: 'a.jpg' };
/** The job's id in its record, events and failure record: the result's. */
const id = job.result_id;
const PROBE_MS = 1_000;

type PublishArgs = [exchange: string, routingKey: string, body: Buffer, options: Options.Publish, timeoutMs: number];

let broker: FakeBroker;
let channel: FakeConsumerChannel;
let publish: ReturnType<typeof vi.fn<(...args: PublishArgs) => Promise<void>>>;
let processJob: ReturnType<typeof vi.fn<() => Promise<ProcessResult>>>;
let probes: { optimizer: ReturnType<typeof vi.fn<() => Promise<boolean>>>; 'object store': ReturnType<typeof vi.fn<() => Promise<boolean>>> };
let jobs: MemoryJobRecords;
let store: MemoryObjectStore;
let metrics: ReturnType<typeof workerMetrics>;
let log: ReturnType<typeof recordingLogger>;
let consumer: RetryConsumer;
/** The channels the consumer declared its queues on, in order. */
let declaredOn: unknown[];
/** How many of the next declares fail. */
let declareFailures: number;

beforeEach(async () => {
  broker = new FakeBroker();
  publish = vi.fn(async () => undefined);
  processJob = vi.fn(async () => ({ kind: 'done', alreadyDone: false, announce: true }));
  probes = { optimizer: vi.fn(async () => true), 'object store': vi.fn(async () => true) };
  jobs = new MemoryJobRecords();
  store = new MemoryObjectStore();
  metrics = workerMetrics(new Registry());
  log = recordingLogger();
  declaredOn = [];
  declareFailures = 0;
  consumer = new RetryConsumer(
    {
      broker,
      declareTopology: async (on) => {
        if (declareFailures > 0) {
          declareFailures -= 1;
          throw new Error('PRECONDITION_FAILED - inequivalent arg');
        }
        declaredOn.push(on);
      },
      decodeJob: jobDecoder(DEFAULT_SETTINGS),
      publisher: { publish },
      processor: { process: processJob },
      jobs,
      store,
      probes,
      metrics,
      logger: log.logger,
    },
    { prefetch: 3, policy: { maxAttempts: 3, delaysMs: [100, 200] }, probeIntervalMs: PROBE_MS, confirmTimeoutMs: 5_000, eventConfirmTimeoutMs: 2_000 },
  );
  await consumer.attach();
  channel = broker.channels[0]!;
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets every promise chain the delivery started run out (the fakes answer at once, no timers). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function deliver(body: Buffer, headers: Record<string, unknown> = {}, redelivered = false) {
  const message = delivery(body, { headers, messageId: 'm-1', timestamp: 1_700_000_000 }, redelivered);
  channel.deliver(message);
  await settle();
  return message;
}

function republished(): PublishArgs[] {
  return publish.mock.calls.filter(([exchange]) => exchange === '');
}

function events() {
  return publish.mock.calls
    .filter(([exchange]) => exchange === EVENTS_EXCHANGE)
    .map(([, , body]) => {
      const decoded = decodeJobEvent(body);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.value;
    });
}

async function count(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('RetryConsumer', () => {
  it('consumes with its prefetch once attached', () => {
    expect(channel.prefetched).toBe(3);
    expect(channel.consumers).toEqual(['ctag-1']);
    expect(consumer.ready).toBe(true);
  });

  it('acks a done job and announces it with the attempt and the correlation id', async () => {
    const message = await deliver(encodeJobMessage(job), { 'x-attempts': 1, 'x-correlation-id': 'req-abcdefgh' });
    expect(processJob).toHaveBeenCalledWith(job, 1, false);
    expect(channel.acked).toEqual([message]);
    expect(events()).toMatchObject([{ type: 'job.done', hash: id, attempts: 2, correlationId: 'req-abcdefgh' }]);
    expect(await count(metrics.acked)).toBe(1);
  });

  it('acks a duplicate of a done job without announcing it again', async () => {
    processJob.mockResolvedValue({ kind: 'done', alreadyDone: true, announce: false });
    await deliver(encodeJobMessage(job), {}, true);
    expect(processJob).toHaveBeenCalledWith(job, 0, true);
    expect(channel.acked).toHaveLength(1);
    expect(events()).toEqual([]);
  });

  it('dead-letters a message that is not a job with the reason, and keeps its body and properties', async () => {
    const body = Buffer.from(JSON.stringify({ hash: 'nope', original_key: 7 }));
    const message = await deliver(body, { 'x-correlation-id': 'req-abcdefgh' });
    expect(processJob).not.toHaveBeenCalled();
    expect(republished()).toHaveLength(1);
    const [, queue, content, options] = republished()[0]!;
    expect(queue).toBe('watermark_retry.dlq');
    expect(content).toBe(message.content);
    expect(options).toMatchObject({ persistent: true, messageId: 'm-1', timestamp: 1_700_000_000, contentType: 'application/json' });
    expect(options.headers).toEqual({
      'x-correlation-id': 'req-abcdefgh',
      'x-attempts': 0,
      'x-dead-letter-reason': 'invalid_message',
      'x-dead-letter-error': 'hash must be 64 lowercase hex characters (received "nope"); original_key must be a string (received 7)',
    });
    expect(channel.acked).toEqual([message]);
    // No hash to speak of: no failure record, no event.
    expect(store.objects.size).toBe(0);
    expect(events()).toEqual([]);
    expect(await count(metrics.deadLettered, { reason: 'invalid_message' })).toBe(1);
  });

  it('settles every message, whatever its body: processed or dead-lettered, acked once, nothing thrown', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
          fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
          fc
            .record({ hash: fc.constantFrom(hash, 'x', 7), original_key: fc.constantFrom(job.original_key, '../etc/passwd', null) })
            .map((v) => Buffer.from(JSON.stringify(v))),
        ),
        fc.dictionary(fc.constantFrom('x-attempts', 'x-correlation-id', 'x-other'), fc.jsonValue()),
        async (body, headers) => {
          const acked = channel.acked.length;
          const sent = republished().length;
          const processed = processJob.mock.calls.length;
          const message = await deliver(body, headers);
          expect(channel.acked.slice(acked)).toEqual([message]);
          // Either the processor had it, or it went to the dead-letter queue with a reason.
          const dead = republished().slice(sent);
          if (processJob.mock.calls.length === processed) {
            expect(dead.map(([, queue, , options]) => [queue, (options.headers as Record<string, unknown> | undefined)?.['x-dead-letter-reason']])).toEqual([
              ['watermark_retry.dlq', 'invalid_message'],
            ]);
          } else {
            expect(dead).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('dead-letters a permanent failure, records it for /status and announces it', async () => {
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'permanent', detail: 'original gone' } });
    await deliver(encodeJobMessage(job), { 'x-attempts': 1 });
    expect(republished()[0]![3].headers).toMatchObject({ 'x-attempts': 2, 'x-dead-letter-reason': 'permanent_error', 'x-dead-letter-error': 'original gone' });
    expect(channel.acked).toHaveLength(1);
    expect(jobs.records.get(id)).toMatchObject({ status: 'failed', attempts: 2, error: 'original gone' });
    const record = decodeFailureRecord(store.objects.get(failureRecordKey(id))!.data);
    expect(record).toMatchObject({ ok: true, value: { hash: id, attempts: 2, error: 'original gone' } });
    expect(events()).toMatchObject([{ type: 'job.failed', hash: id, attempts: 2, error: 'original gone' }]);
  });

  it('still records and announces a failure when Redis is down, and says so', async () => {
    jobs.fail('*');
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'permanent', detail: 'original gone' } });
    await deliver(encodeJobMessage(job));
    expect(store.objects.has(failureRecordKey(id))).toBe(true);
    expect(events()).toMatchObject([{ type: 'job.failed' }]);
    expect(log.warnings()).toMatchObject([{ msg: 'job dead-lettered' }, { msg: 'job state not updated', hash, err: 'Connection is closed.' }]);
  });

  it('logs a failure record the store would not take, and still announces the failure', async () => {
    store.fail('put');
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'permanent', detail: 'original gone' } });
    await deliver(encodeJobMessage(job));
    expect(log.warnings().map((line) => line.msg)).toContain('failure record not stored');
    expect(events()).toMatchObject([{ type: 'job.failed' }]);
  });

  it('sends a failed job to the delay queue for its attempt, then marks it pending and announces it', async () => {
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'job-failed', detail: 'optimizer timed out' } });
    await deliver(encodeJobMessage(job), { 'x-attempts': 1 });
    const [, queue, , options] = republished()[0]!;
    expect(queue).toBe('watermark_retry.delay.200ms');
    expect(options.headers).toMatchObject({ 'x-attempts': 2 });
    expect(channel.acked).toHaveLength(1);
    expect(jobs.records.get(id)).toMatchObject({ status: 'pending', attempts: 2, error: 'optimizer timed out' });
    expect(events()).toMatchObject([{ type: 'job.retrying', attempts: 2, error: 'optimizer timed out' }]);
    expect(await count(metrics.retried)).toBe(1);
  });

  it('logs a pending state Redis would not take, and still retries', async () => {
    jobs.fail('write');
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'job-failed', detail: 'optimizer timed out' } });
    await deliver(encodeJobMessage(job));
    expect(channel.acked).toHaveLength(1);
    expect(log.warnings().map((line) => line.msg)).toEqual(['job failed; retrying later', 'job state not updated']);
  });

  it('dead-letters a job on its last attempt as max_attempts', async () => {
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'job-failed', detail: 'optimizer timed out' } });
    await deliver(encodeJobMessage(job), { 'x-attempts': 2 });
    expect(republished()[0]![3].headers).toMatchObject({
      'x-attempts': 3,
      'x-dead-letter-reason': 'max_attempts',
      'x-dead-letter-error': 'optimizer timed out (after 3 attempts)',
    });
  });

  it('hands the message back, without acking, when its republish is not confirmed', async () => {
    publish.mockRejectedValueOnce(new Error('broker did not confirm within 5000 ms'));
    processJob.mockResolvedValue({ kind: 'failed', failure: { kind: 'job-failed', detail: 'optimizer timed out' } });
    const message = await deliver(encodeJobMessage(job));
    expect(channel.acked).toEqual([]);
    expect(channel.nacked).toEqual([{ message, requeue: true }]);
    expect(jobs.records.has(id)).toBe(false);
    expect(events()).toEqual([]);
  });

  it('hands the message back when the processor throws', async () => {
    processJob.mockRejectedValue(new Error('bug'));
    const message = await deliver(encodeJobMessage(job));
    expect(channel.nacked).toEqual([{ message, requeue: true }]);
    expect(log.lines.find((line) => line.msg.startsWith('unexpected error'))).toBeDefined();
  });

  it('logs an ack the dead channel refused: the job is redelivered and idempotent', async () => {
    channel.dead = true;
    await deliver(encodeJobMessage(job));
    expect(log.warnings()).toMatchObject([{ msg: 'ack failed; the job will be redelivered' }]);
    expect(await count(metrics.acked)).toBe(0);
  });

  it('pauses on a dependency that is down, probing it, and resumes when it answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    probes.optimizer.mockResolvedValueOnce(false).mockResolvedValue(true);
    processJob.mockResolvedValueOnce({ kind: 'failed', failure: { kind: 'dependency-down', dependency: 'optimizer', detail: 'ECONNREFUSED' } });
    const message = await deliver(encodeJobMessage(job));
    expect(channel.nacked).toEqual([{ message, requeue: true }]);
    expect(channel.cancelled).toEqual(['ctag-1']);
    expect(consumer.pausedFor).toBe('optimizer');
    expect(consumer.ready).toBe(true); // paused on purpose is healthy

    await vi.advanceTimersByTimeAsync(PROBE_MS);
    expect(probes.optimizer).toHaveBeenCalledTimes(1);
    expect(channel.consuming).toBe(false);
    await vi.advanceTimersByTimeAsync(PROBE_MS);
    expect(consumer.pausedFor).toBeUndefined();
    expect(channel.consumers).toEqual(['ctag-1', 'ctag-2']);
    expect(probes['object store']).not.toHaveBeenCalled();
  });

  it('declares its queues on the channel before consuming', () => {
    expect(declaredOn).toEqual([channel]);
  });

  it('declares the queues again and consumes again on the same channel after the broker cancels it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    channel.deliver(null);
    expect(processJob).not.toHaveBeenCalled();
    expect(log.warnings()).toMatchObject([{ msg: 'the broker cancelled the consumer; declaring the queues and consuming again' }]);
    expect(channel.consuming).toBe(true); // the fake keeps the callback; the broker delivers nothing more
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(declaredOn).toEqual([channel, channel]);
    expect(channel.consumers).toEqual(['ctag-1', 'ctag-2']);
    expect(broker.channels).toHaveLength(1);
    expect(consumer.ready).toBe(true);
    await deliver(encodeJobMessage(job));
    expect(processJob).toHaveBeenCalledTimes(1);
  });

  it('after a broker cancel while paused for a dependency, leaves consuming again to the dependency gate', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    probes.optimizer.mockResolvedValueOnce(false).mockResolvedValue(true);
    processJob.mockResolvedValueOnce({ kind: 'failed', failure: { kind: 'dependency-down', dependency: 'optimizer', detail: 'ECONNREFUSED' } });
    await deliver(encodeJobMessage(job));
    expect(consumer.pausedFor).toBe('optimizer');
    channel.callbacks[0]!(null); // a cancel that crossed ours
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(channel.consumers).toEqual(['ctag-1']);
    await vi.advanceTimersByTimeAsync(2 * PROBE_MS);
    expect(consumer.pausedFor).toBeUndefined();
    expect(channel.consumers).toEqual(['ctag-1', 'ctag-2']);
  });

  it('does not consume again after a broker cancel once it is stopping', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    channel.deliver(null);
    await consumer.stop();
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(channel.consumers).toEqual(['ctag-1']);
    expect(declaredOn).toEqual([channel]);
  });

  it('stops taking jobs, lets the one in hand finish, then closes its channel', async () => {
    let finish: (result: ProcessResult) => void = () => undefined;
    processJob.mockReturnValueOnce(new Promise((resolve) => (finish = resolve)));
    channel.deliver(delivery(encodeJobMessage(job)));
    const stopped = consumer.stop();
    await settle();
    expect(channel.cancelled).toEqual(['ctag-1']);
    expect(channel.closed).toBe(false);
    finish({ kind: 'done', alreadyDone: false, announce: false });
    await stopped;
    expect(channel.acked).toHaveLength(1);
    expect(channel.closed).toBe(true);
    expect(consumer.ready).toBe(false);
  });

  it('is not ready once the broker closed its channel, and reopens one while the connection lives', async () => {
    vi.useFakeTimers();
    channel.emit('close');
    expect(consumer.ready).toBe(false);
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    const reopened = broker.channels[1]!;
    expect(reopened.prefetched).toBe(3);
    expect(reopened.consumers).toEqual(['ctag-1']);
    expect(consumer.ready).toBe(true);
  });

  it('tries a failed reopen again, later each time, until a channel is open', async () => {
    vi.useFakeTimers();
    broker.failOpenings = 2;
    channel.emit('close');
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(log.warnings()).toMatchObject([{ msg: 'could not reopen consumer channel; trying again', attempt: 0 }]);
    await vi.advanceTimersByTimeAsync(500);
    expect(log.warnings()).toHaveLength(2);
    expect(broker.channels).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(broker.channels).toHaveLength(2);
    expect(broker.channels[1]!.consumers).toEqual(['ctag-1']);
    expect(consumer.ready).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(broker.channels).toHaveLength(2);
  });

  it('closes a channel whose set-up failed before trying again', async () => {
    vi.useFakeTimers();
    declareFailures = 1;
    channel.emit('close');
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(broker.channels[1]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(broker.channels[2]!.consumers).toEqual(['ctag-1']);
    expect(consumer.ready).toBe(true);
  });

  it('leaves a channel lost with its connection to the reconnection', async () => {
    vi.useFakeTimers();
    broker.isConnected = false;
    channel.emit('close');
    await vi.advanceTimersByTimeAsync(CHANNEL_REOPEN_DELAY_MS);
    expect(broker.channels).toHaveLength(1);
    expect(consumer.ready).toBe(false);
  });
});
